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
 * A log with rows declared lost (loss.h) exports as version 2: the same, with "losses", every
 * entry of the log whose row is declared lost, its state, and the declarations, so that a
 * checker sees the gap; a checker of version 1 refuses such a file rather than call it whole.
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
 * written in it, made at @now and signed with @key (which needs its private part). @rep is
 * chain_verify()'s verdict on @s, in the same read transaction: the log must verify (else
 * -EBADMSG, not said: the caller has the verdict), and the entries it lists as declared lost are
 * the losses the export states (version 2) and leaves out. Returns 0 with *@out, or a negative
 * errno (said). */
int evidence_export(struct store *s, const struct chain_report *rep, const struct crypto_key *key,
                    const char *gateway, int64_t from, int64_t to, int64_t now, json_t **out);

/* What a good export holds. */
struct evidence_summary {
        long long incidents, rows, entries;
        long long first_seq, last_seq;
        char head[2 * CRYPTO_SHA256_LEN + 1];
        long long lost;            /* entries of the log whose rows are declared lost */
        long long lost_in_segment; /* those inside the export's segment */
        char loss[2048];           /* for people: where, declared when, by whom, why */
};

/* Checks @doc: the signature by @key over its canonical form, every row against its chain
 * entry, every entry against the one before, the losses (version 2) against the segment, and
 * that no exported row is declared lost. Returns 0 (with @sum; @sum->lost > 0 when the file
 * states losses), -EBADMSG with what fails in @why, or -ENOMEM. */
int evidence_verify(const json_t *doc, const struct crypto_key *key, struct evidence_summary *sum,
                    char *why, size_t why_len);

/* What evidence_declare_loss() declared. */
struct evidence_declared {
        long long audit_id; /* the declaration's audit row; 0 when nothing was declared */
        long long missing;  /* entries declared missing */
        long long damaged;  /* entries declared damaged */
};

/* Declares lost, after a salvage (docs/store.md), every entry whose row is missing or changed
 * and that no declaration covers yet (loss.h), by @who at @at, with @reason and, when not NULL,
 * @copy_sha256 (the kept damaged store file's SHA-256, 64 lowercase hex digits). Verifying,
 * deciding and writing are one transaction. @rep is the verdict before the declaration; its
 * unmatched rows are what was declared (free its lists with chain_report_clear()). Returns 0
 * (@out->audit_id 0: nothing to declare), -EBADMSG when the log has a problem a declaration
 * cannot cover (the first in @rep->undeclarable; nothing written), -EINVAL when @reason is not
 * loss_text_ok() or @copy_sha256 is no SHA-256 (not said), or a negative errno (said). */
int evidence_declare_loss(struct store *s, int64_t at, const char *who, const char *reason,
                          const char *copy_sha256, struct chain_report *rep,
                          struct evidence_declared *out);

/* Records a look at the log in the audit table (chained): @who, from @origin ("local",
 * "platform", "desk"), @action ("incidents", "incident-show", "report", "export", "query",
 * "verify-log"), its @params as JSON, its @result (may be NULL). Returns 0 or a negative errno
 * (the store has said the SQLite error). */
int evidence_audit(struct store *s, int64_t at, const char *who, const char *origin,
                   const char *action, const char *params, const char *result);

#endif
