-- drop index "chartdata_factory_id_time" from table: "chart_data"
DROP INDEX "chartdata_factory_id_time";
-- create index "chartdata_factory_id_time" to table: "chart_data"
CREATE UNIQUE INDEX "chartdata_factory_id_time" ON "chart_data" ("factory_id", "time") INCLUDE ("actual", "goal");
