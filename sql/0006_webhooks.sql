-- Webhook endpoints and the delivery of outbox events (ledger-features.md §3).

-- Registered by operators (admin API). A removed endpoint keeps its rows, marked deleted.
CREATE TABLE webhook_endpoint (
    id         BIGINT      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    url        TEXT        NOT NULL,
    secret     TEXT        NOT NULL CHECK (length(secret) >= 16),
    events     TEXT[]      NOT NULL,
    created_by TEXT        NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    deleted_at TIMESTAMPTZ
);

-- One delivery per (event, endpoint), made when the dispatcher fans an event out.
CREATE TABLE webhook_delivery (
    id              BIGINT      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id        BIGINT      NOT NULL REFERENCES billing_event (id),
    endpoint_id     BIGINT      NOT NULL REFERENCES webhook_endpoint (id),
    status          TEXT        NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts        INT         NOT NULL DEFAULT 0,
    -- Due time; a claimed delivery is leased by moving it into the future.
    next_attempt_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    last_status     INT,
    last_error      TEXT,
    delivered_at    TIMESTAMPTZ,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (event_id, endpoint_id)
);
CREATE INDEX webhook_delivery_due ON webhook_delivery (next_attempt_at) WHERE status = 'pending';

-- Every attempt: when, how it ended, how long it took.
CREATE TABLE webhook_attempt (
    id          BIGINT      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    delivery_id BIGINT      NOT NULL REFERENCES webhook_delivery (id),
    at          TIMESTAMPTZ NOT NULL DEFAULT now(),
    status      INT,
    error       TEXT,
    latency_ms  BIGINT      NOT NULL
);
CREATE INDEX webhook_attempt_delivery ON webhook_attempt (delivery_id, id);

-- Events not yet fanned out to the endpoints that want them.
ALTER TABLE billing_event ADD COLUMN fanned_out BOOLEAN NOT NULL DEFAULT false;
CREATE INDEX billing_event_pending ON billing_event (id) WHERE NOT fanned_out;
