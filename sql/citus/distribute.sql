-- Distributes a migrated billing schema over a Citus cluster (docs/scaling.md). Run once on
-- the coordinator, after the migrations, with the schema first in search_path:
--   psql -h 127.0.0.1 -p 54340 -U billing -d billing -c 'SET search_path = my_schema' -f sql/citus/distribute.sql
-- Not part of the migrations: plain PostgreSQL stays the default.

-- Prices are read by every batch on every shard: one copy on each node.
SELECT create_reference_table('service_price');

-- Everything a lane batch touches, by user and co-located: a batch of one shard's users is
-- one worker's transaction.
SELECT create_distributed_table('user_balance', 'user_id', shard_count => 32);
SELECT create_distributed_table('free_quota', 'user_id', colocate_with => 'user_balance');
SELECT create_distributed_table('billing_record', 'user_id', colocate_with => 'user_balance');
SELECT create_distributed_table('hold', 'user_id', colocate_with => 'user_balance');
SELECT create_distributed_table('refund', 'user_id', colocate_with => 'user_balance');
SELECT create_distributed_table('adjustment', 'user_id', colocate_with => 'user_balance');
SELECT create_distributed_table('user_settings', 'user_id', colocate_with => 'user_balance');
SELECT create_distributed_table('user_price', 'user_id', colocate_with => 'user_balance');

-- Keyed globally (an order's payment id, an event's id, an audit entry's id) or not per
-- user at all: kept on the coordinator, in Citus' metadata so a transaction may touch them
-- and distributed tables together (a credit, a batch that writes an event).
SELECT citus_add_local_table_to_metadata('recharge_order');
SELECT citus_add_local_table_to_metadata('audit_log');
-- The outbox and the webhook tables are bound by foreign keys: added together.
SELECT citus_add_local_table_to_metadata('billing_event', cascade_via_foreign_keys => true);
