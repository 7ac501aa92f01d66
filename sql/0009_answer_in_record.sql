-- A deduction's idempotency row is folded into its first record. Every applied deduction
-- writes one or two records (its free part, then its paid part) that already hold its user,
-- request id, service, app, counts, amount and price; what only the answer held (the balance,
-- free units and available money after it) moves into that first record, which also names
-- the second. A unique index over the records that carry an answer keeps one applied
-- deduction per (user, request id). Each deduction writes one row fewer: ~4 % of the
-- machine's CPU per deduction under per-request load (docs/benchmarks.md, eighth pass).
-- Servers of an older release cannot commit a deduction once this has run: their batches
-- fail whole on the missing table (docs/production.md, Upgrades).
ALTER TABLE billing_record
    ADD COLUMN balance_after_fen    BIGINT,
    ADD COLUMN free_remaining_after BIGINT,
    ADD COLUMN available_after_fen  BIGINT,
    ADD COLUMN paired_record_id     BIGINT;

-- The stored answers, moved onto the records they name.
UPDATE billing_record AS r
SET balance_after_fen = d.balance_after_fen, free_remaining_after = d.free_remaining_after,
    available_after_fen = d.available_after_fen, paired_record_id = d.record_ids[2]
FROM deduction_request AS d
WHERE r.user_id = d.user_id AND r.id = d.record_ids[1];

DO $$
DECLARE
    stored BIGINT := (SELECT count(*) FROM deduction_request);
    moved  BIGINT := (SELECT count(*) FROM billing_record WHERE balance_after_fen IS NOT NULL);
BEGIN
    IF stored <> moved THEN
        RAISE EXCEPTION '% stored deduction answers, % found their first record: nothing migrated', stored, moved;
    END IF;
END $$;

-- An answer is a deduction's first record's (free or paid), keyed; only it names a second
-- record, a paid one, of the same request.
ALTER TABLE billing_record ADD CONSTRAINT billing_record_answer CHECK (
    balance_after_fen IS NULL
        AND free_remaining_after IS NULL AND available_after_fen IS NULL AND paired_record_id IS NULL
    OR balance_after_fen IS NOT NULL AND free_remaining_after IS NOT NULL
        AND request_id IS NOT NULL AND type IN (1, 2));

-- One applied deduction per (user, request id): a replay's insert fails on this index.
CREATE UNIQUE INDEX billing_record_request ON billing_record (user_id, request_id)
    WHERE balance_after_fen IS NOT NULL;

DROP TABLE deduction_request;
