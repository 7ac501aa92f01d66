-- Spend caps, alerts and the event outbox (ledger-features.md §3).

-- A developer's own limits. No row: no cap, no threshold, the default percents.
CREATE TABLE user_settings (
    user_id                   TEXT        PRIMARY KEY,
    monthly_spend_cap_fen     BIGINT      CHECK (monthly_spend_cap_fen BETWEEN 0 AND 10000000000000),
    low_balance_threshold_fen BIGINT      CHECK (low_balance_threshold_fen BETWEEN 0 AND 10000000000000),
    cap_alert_percents        INT[]       NOT NULL DEFAULT '{50,80,100}',
    updated_at                TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- This period's spend and the alerts' memory live in the balance row, which every lane
-- batch rewrites anyway: paid fen charged in spend_period + fen held by its pending holds
-- − fen refunded of its charges; the balance alerts' arming; the cap alerts fired in it.
ALTER TABLE user_balance
    ADD COLUMN spend_period      TEXT    NOT NULL DEFAULT '',
    ADD COLUMN spend_fen         BIGINT  NOT NULL DEFAULT 0 CHECK (spend_fen >= 0),
    ADD COLUMN low_armed         BOOLEAN NOT NULL DEFAULT true,
    ADD COLUMN depleted_armed    BOOLEAN NOT NULL DEFAULT true,
    ADD COLUMN cap_alerts_fired  INT[]   NOT NULL DEFAULT '{}',
    ADD COLUMN cap_reached_fired BOOLEAN NOT NULL DEFAULT false;

-- The outbox: each event is written in the transaction of the change that causes it.
CREATE TABLE billing_event (
    id         BIGINT      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id   TEXT        NOT NULL UNIQUE DEFAULT gen_random_uuid()::text,
    user_id    TEXT        NOT NULL,
    type       TEXT        NOT NULL,
    data       JSONB       NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX billing_event_user ON billing_event (user_id, id);
