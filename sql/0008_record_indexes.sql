-- Every record cost three B-tree inserts keyed by user_id (the primary key, a per-service
-- and a by-time index); under batch load, index inserts were 37 % of PostgreSQL's CPU. The
-- primary key (user_id, id) now serves every per-user read: a service filter reads the
-- user's records newest first and skips the others (a user has a handful of services), and
-- a time range is narrowed by a BRIN index on created_at, which costs next to nothing per
-- insert because records arrive in time order. docs/benchmarks.md has the measurement.
DROP INDEX billing_record_user_service_id;
DROP INDEX billing_record_user_created;
CREATE INDEX billing_record_created ON billing_record USING brin (created_at);
