-- Holds (ledger-features.md §1): an authorization keeps free units of its period and fen
-- until it is settled, voided or expires. What pending holds keep is also summed on the
-- rows every lane batch rewrites anyway (user_balance.held_fen, free_quota.held), so
-- deductions see available funds without reading the holds.

CREATE TABLE hold (
    user_id                     TEXT        NOT NULL,
    hold_id                     TEXT        NOT NULL,
    service_name                TEXT        NOT NULL,
    app_id                      TEXT,
    count                       BIGINT      NOT NULL CHECK (count > 0),
    ttl_seconds                 BIGINT      NOT NULL CHECK (ttl_seconds BETWEEN 1 AND 3600),
    -- The period it was created in: its free units are that period's.
    period                      TEXT        NOT NULL,
    free_held                   BIGINT      NOT NULL CHECK (free_held >= 0),
    paid_held                   BIGINT      NOT NULL CHECK (paid_held >= 0),
    held_fen                    BIGINT      NOT NULL CHECK (held_fen >= 0),
    price_micro_fen             BIGINT      NOT NULL CHECK (price_micro_fen BETWEEN 0 AND 1000000000000),
    price_version               BIGINT      NOT NULL,
    price_override              BIGINT,
    status                      TEXT        NOT NULL CHECK (status IN ('pending', 'settled', 'voided', 'expired')),
    created_at                  TIMESTAMPTZ NOT NULL,
    expires_at                  TIMESTAMPTZ NOT NULL,
    resolved_at                 TIMESTAMPTZ,
    -- The settle's count and answer, replayed to a retry of the same settle.
    settled_count               BIGINT,
    settle_record_ids           BIGINT[],
    settle_free_count           BIGINT,
    settle_paid_count           BIGINT,
    settle_cost_fen             BIGINT,
    settle_balance_after_fen    BIGINT,
    settle_free_remaining_after BIGINT,
    settle_available_after_fen  BIGINT,
    PRIMARY KEY (user_id, hold_id),
    CHECK (free_held + paid_held = count),
    CHECK ((status = 'pending') = (resolved_at IS NULL)),
    CHECK ((status = 'settled') = (settled_count IS NOT NULL AND settle_cost_fen IS NOT NULL))
) WITH (fillfactor = 80);
-- The sweeper's work list; also what a user's pending holds are read by.
CREATE INDEX hold_pending_expiry ON hold (expires_at) WHERE status = 'pending';
CREATE INDEX hold_pending_user ON hold (user_id) WHERE status = 'pending';

ALTER TABLE user_balance ADD COLUMN held_fen BIGINT NOT NULL DEFAULT 0;
ALTER TABLE user_balance ADD CONSTRAINT user_balance_held CHECK (held_fen >= 0 AND held_fen <= balance_fen);
ALTER TABLE free_quota ADD COLUMN held BIGINT NOT NULL DEFAULT 0;
ALTER TABLE free_quota ADD CONSTRAINT free_quota_held CHECK (held >= 0 AND used + held <= total);

-- Settled consumption is ordinary consumption that names its hold.
ALTER TABLE billing_record ADD COLUMN hold_id TEXT;
-- Deduct answers add the available balance; NULL on answers stored before holds.
ALTER TABLE deduction_request ADD COLUMN available_after_fen BIGINT;
