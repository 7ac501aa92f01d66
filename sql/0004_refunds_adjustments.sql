-- Refunds, operator adjustments and the audit log (ledger-features.md §2).

-- Record types: 1 free, 2 balance (paid), 3 refund of paid units (amount = fen given back),
-- 4 adjustment (amount signed: + credit, − debit), 5 refund of free units.
ALTER TABLE billing_record DROP CONSTRAINT billing_record_type_check;
ALTER TABLE billing_record DROP CONSTRAINT billing_record_amount_fen_check;
ALTER TABLE billing_record DROP CONSTRAINT billing_record_check;
ALTER TABLE billing_record ADD CONSTRAINT billing_record_type CHECK (type IN (1, 2, 3, 4, 5));
ALTER TABLE billing_record ADD CONSTRAINT billing_record_amount CHECK (
    CASE type WHEN 1 THEN amount_fen = 0 WHEN 5 THEN amount_fen = 0 WHEN 4 THEN amount_fen <> 0
        ELSE amount_fen >= 0 END);
-- A refund record names the records whose units it gives back.
ALTER TABLE billing_record ADD COLUMN refers_to BIGINT[];

-- One row per applied refund: idempotency by (user, refund_id), the per-target sums that
-- keep refunds within the charge, and the answer replayed to a retry.
CREATE TABLE refund (
    user_id           TEXT        NOT NULL,
    refund_id         TEXT        NOT NULL,
    target_kind       TEXT        NOT NULL CHECK (target_kind IN ('deduction', 'hold')),
    target_id         TEXT        NOT NULL,
    count             BIGINT      NOT NULL CHECK (count > 0),
    reason            TEXT        NOT NULL,
    paid_refunded     BIGINT      NOT NULL CHECK (paid_refunded >= 0),
    free_refunded     BIGINT      NOT NULL CHECK (free_refunded >= 0),
    free_returned     BIGINT      NOT NULL CHECK (free_returned >= 0 AND free_returned <= free_refunded),
    fen_returned      BIGINT      NOT NULL CHECK (fen_returned >= 0),
    balance_after_fen BIGINT      NOT NULL,
    record_ids        BIGINT[]    NOT NULL,
    created_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, refund_id),
    CHECK (paid_refunded + free_refunded = count)
);
CREATE INDEX refund_target ON refund (user_id, target_kind, target_id);

-- One row per applied adjustment: idempotency by (user, adjustment_id) and its answer.
CREATE TABLE adjustment (
    user_id             TEXT        NOT NULL,
    adjustment_id       TEXT        NOT NULL,
    amount_fen          BIGINT      NOT NULL CHECK (amount_fen <> 0),
    reason              TEXT        NOT NULL,
    operator            TEXT        NOT NULL,
    balance_after_fen   BIGINT      NOT NULL,
    available_after_fen BIGINT      NOT NULL,
    record_id           BIGINT      NOT NULL,
    created_at          TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, adjustment_id)
);

-- Every admin call, refused ones too. Append-only: updates, deletes and truncation fail.
CREATE TABLE audit_log (
    id         BIGINT      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at         TIMESTAMPTZ NOT NULL DEFAULT now(),
    operator   TEXT,
    action     TEXT        NOT NULL,
    target     TEXT,
    parameters TEXT        NOT NULL,
    status     INT         NOT NULL,
    code       TEXT
);
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only';
END
$$;
CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
