-- reverse: create index "rollup_factory_id_width_bucket" to table: "rollups"
DROP INDEX `rollup_factory_id_width_bucket`;
-- reverse: create "new_rollups" table
DROP TABLE `new_rollups`;
