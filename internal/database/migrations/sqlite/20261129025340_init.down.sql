-- reverse: create "sprockets" table
DROP TABLE `sprockets`;
-- reverse: create "factories" table
DROP TABLE `factories`;
-- reverse: create index "chartdata_factory_id_time" to table: "chart_data"
DROP INDEX `chartdata_factory_id_time`;
-- reverse: create "chart_data" table
DROP TABLE `chart_data`;
