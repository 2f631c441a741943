-- modify "factories" table
ALTER TABLE "factories" ADD COLUMN "series_version" bigint NOT NULL DEFAULT 0;
