-- The ledger of the Billing Service. Money is BIGINT fen everywhere. Constraints make a
-- corrupt state impossible rather than unlikely: a bug fails loudly instead of moving money.

CREATE TABLE user_balance (
    user_id     TEXT        PRIMARY KEY,
    balance_fen BIGINT      NOT NULL DEFAULT 0 CHECK (balance_fen >= 0),
    -- Bumped on every change; the cache never lets an older version overwrite a newer one.
    version     BIGINT      NOT NULL DEFAULT 0,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now()
-- Room on every page, so the update of each deduction stays a HOT update (no index write).
) WITH (fillfactor = 70);

CREATE TABLE free_quota (
    user_id      TEXT        NOT NULL,
    period       TEXT        NOT NULL CHECK (period ~ '^[0-9]{4}-(0[1-9]|1[0-2])$'),
    service_name TEXT        NOT NULL,
    total        BIGINT      NOT NULL CHECK (total >= 0),
    used         BIGINT      NOT NULL DEFAULT 0,
    version      BIGINT      NOT NULL DEFAULT 0,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, period, service_name),
    CHECK (0 <= used AND used <= total)
) WITH (fillfactor = 70);

CREATE SEQUENCE billing_record_id_seq;

-- Written once, never updated.
CREATE TABLE billing_record (
    id           BIGINT      PRIMARY KEY,
    user_id      TEXT        NOT NULL,
    service_name TEXT        NOT NULL,
    app_id       TEXT,
    type         SMALLINT    NOT NULL CHECK (type IN (1, 2)),  -- 1 free, 2 balance
    count        BIGINT      NOT NULL CHECK (count > 0),
    amount_fen   BIGINT      NOT NULL CHECK (amount_fen >= 0),
    request_id   TEXT,
    period       TEXT        NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    CHECK (type = 2 OR amount_fen = 0)
);
-- Newest first per user, keyset paging by id; the same with a service filter.
CREATE INDEX billing_record_user_id ON billing_record (user_id, id DESC);
CREATE INDEX billing_record_user_service_id ON billing_record (user_id, service_name, id DESC);
-- Statistics over a time range.
CREATE INDEX billing_record_user_created ON billing_record (user_id, created_at);

-- Idempotency of deductions: one row per (user, request_id) that was applied, holding
-- the parameters (to tell a retry from a conflict) and the original answer.
CREATE TABLE deduction_request (
    user_id              TEXT        NOT NULL,
    request_id           TEXT        NOT NULL,
    service_name         TEXT        NOT NULL,
    count                BIGINT      NOT NULL,
    app_id               TEXT,
    record_ids           BIGINT[]    NOT NULL,
    free_count           BIGINT      NOT NULL,
    paid_count           BIGINT      NOT NULL,
    cost_fen             BIGINT      NOT NULL,
    balance_after_fen    BIGINT      NOT NULL,
    free_remaining_after BIGINT      NOT NULL,
    created_at           TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, request_id)
);

CREATE TABLE recharge_order (
    id              TEXT        PRIMARY KEY,
    user_id         TEXT        NOT NULL,
    amount_fen      BIGINT      NOT NULL CHECK (amount_fen > 0),
    currency        TEXT        NOT NULL,
    payment_method  TEXT        NOT NULL CHECK (payment_method IN ('alipay', 'wechat', 'stripe')),
    status          TEXT        NOT NULL CHECK (status IN ('pending', 'success', 'failed', 'expired')),
    payment_id      TEXT        UNIQUE,
    pay_url         TEXT,
    return_url      TEXT,
    idempotency_key TEXT,
    failure_reason  TEXT,
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    paid_at         TIMESTAMPTZ,
    UNIQUE (user_id, idempotency_key),
    CHECK (status <> 'success' OR paid_at IS NOT NULL)
);
CREATE INDEX recharge_order_user ON recharge_order (user_id, created_at DESC);
CREATE INDEX recharge_order_pending ON recharge_order (created_at) WHERE status = 'pending';
