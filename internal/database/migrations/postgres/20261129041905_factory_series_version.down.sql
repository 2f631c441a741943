-- reverse: modify "factories" table
ALTER TABLE "factories" DROP COLUMN "series_version";
