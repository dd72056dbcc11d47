/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * evidence: an export of the incident log for a case file, signed with the gateway's own
 * Ed25519 key, that anyone can check offline (docs/evidence.md).
 *
 * The export holds the incidents of a period with their events, the engine events, the
 * platform's commands and the audit rows of that period, and the segment of the hash chain
 * (chain.h) that covers them: so a checker proves both that the file is what the gateway
 * signed and that each row is the one the gateway chained when it wrote it.
 *
 * A log with rows declared lost (chain.h) exports as version 2: the same, with "losses", every
 * entry of the log whose row is declared lost and the declarations, so that a checker sees the
 * gap; a checker of version 1 refuses such a file rather than call it whole.
 */
#ifndef FIREGATE_EVIDENCE_H
#define FIREGATE_EVIDENCE_H

#include <jansson.h>
#include <stdint.h>

#include "chain.h"
#include "crypto.h"
#include "store.h"

#define EVIDENCE_FORMAT         "firegate-evidence"
#define EVIDENCE_SIGNING_PREFIX "firegate-evidence-v1\n"

/* Builds the export of the incidents open at some time in [@from, @to) and of the other rows
 * written in it, made at @now and signed with @key (which needs its private part), with the
 * log's declared losses if it has any (the caller decides whether a log that is not whole is
 * exported: chain_verify()). Returns 0 with *@out, or a negative errno (said). */
int evidence_export(struct store *s, const struct crypto_key *key, const char *gateway,
                    int64_t from, int64_t to, int64_t now, json_t **out);

/* What a good export holds. */
struct evidence_summary {
        long long incidents, rows, entries;
        long long first_seq, last_seq;
        char head[2 * CRYPTO_SHA256_LEN + 1];
        long long lost;            /* entries of the log whose rows are declared lost */
        long long lost_in_segment; /* those inside the export's segment */
        char loss[512];            /* for people: where, declared when, by whom, why */
};

/* Checks @doc: the signature by @key over its canonical form, every row against its chain
 * entry, every entry against the one before, the losses (version 2) against the segment, and
 * that no exported row is declared lost. Returns 0 (with @sum; @sum->lost > 0 when the file
 * states losses), -EBADMSG with what fails in @why, or -ENOMEM. */
int evidence_verify(const json_t *doc, const struct crypto_key *key, struct evidence_summary *sum,
                    char *why, size_t why_len);

/* Declares lost, after a salvage (docs/store.md), every row missing from the log that no
 * declaration covers yet: verifies the log into @rep, and if its only problems are missing
 * rows, records a declaration of them (chain.h) by @who at @at, with @reason. Sets *@declared to
 * the rows declared (0: nothing was missing). Returns 0, -EBADMSG when the log has problems a
 * declaration cannot cover (the first in @rep->problem, nothing written), or a negative errno
 * (said). */
int evidence_declare_loss(struct store *s, int64_t at, const char *who, const char *reason,
                          struct chain_report *rep, long long *declared);

/* Records a look at the log in the audit table (chained): @who, from @origin ("local",
 * "platform", "desk"), @action ("incidents", "incident-show", "report", "export", "query",
 * "verify-log"), its @params as JSON, its @result (may be NULL). Returns 0 or a negative errno
 * (the store has said the SQLite error). */
int evidence_audit(struct store *s, int64_t at, const char *who, const char *origin,
                   const char *action, const char *params, const char *result);

#endif
