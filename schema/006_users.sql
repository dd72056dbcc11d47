-- The security desk's accounts (docs/desk.md). There is no default account: `firegate user add`
-- makes each one. The web page reads this table read-only; only the CLI writes it.
--
-- password_hash is libsodium's crypto_pwhash_str() text: argon2id with OPSLIMIT_INTERACTIVE and
-- MEMLIMIT_INTERACTIVE (2 passes over 64 MiB; about 80 ms on a desktop core, well under a
-- second on a Raspberry Pi). MODERATE would take 256 MiB per login: on a 512 MiB or 1 GiB Pi,
-- beside the alarm daemon, two or three logins at once could bring the kernel's OOM killer, and
-- the alarm path matters more than a slower guess. The parameters are written into the hash
-- itself, so they can be raised later without a migration. The password is never stored.
-- created_at is UTC milliseconds, as every time in the store.

CREATE TABLE desk_user (
        name          TEXT PRIMARY KEY NOT NULL
                      CHECK (length(name) BETWEEN 1 AND 32 AND name NOT GLOB '*[^a-z0-9._-]*'),
        role          TEXT NOT NULL CHECK (role IN ('viewer', 'manager', 'admin')),
        password_hash TEXT NOT NULL CHECK (password_hash LIKE '$argon2id$%'),
        created_at    INTEGER NOT NULL,
        disabled      INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
        language      TEXT NOT NULL DEFAULT 'vi' CHECK (language IN ('vi', 'en'))
) STRICT;
