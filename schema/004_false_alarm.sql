-- False alarms, and the indexes the queries of the incident log need (docs/reports.md).
--
-- A manager who resets an alarm as false (`firegate reset --false-alarm TARGET`) marks the
-- incidents that reset closed: false_alarm_by is who reset (the caller's user, from the control
-- socket's peer credentials), false_alarm_at the time of the reset (the incident's reset_at).
-- Both are NULL for every other incident. The record (incident_event) is not changed: the
-- reset's own event is there as for any reset; the mark belongs to the summary.

ALTER TABLE incident ADD COLUMN false_alarm_by TEXT;
ALTER TABLE incident ADD COLUMN false_alarm_at INTEGER;

-- `firegate incidents --from .. --to ..`: an incident lies in the range when it began before
-- the end and closed after the start (or is open). The closing time beside the start lets the
-- index alone answer both, so only the rows listed are read from the table.
DROP INDEX incident_by_time;
CREATE INDEX incident_by_time ON incident (first_at, closed_at);
-- `firegate report`: alarms are counted by when they became alarms.
CREATE INDEX incident_by_alarm ON incident (alarm_at) WHERE alarm_at IS NOT NULL;
-- `--unit` and `--floor` match any detector of an incident.
CREATE INDEX incident_detector_by_unit ON incident_detector (unit, incident)
        WHERE unit IS NOT NULL;
CREATE INDEX incident_detector_by_floor ON incident_detector (floor, incident)
        WHERE floor IS NOT NULL;
-- `firegate incident show`: the platform's commands about an incident.
CREATE INDEX command_by_incident ON command (incident) WHERE incident IS NOT NULL;
