-- hand-written: rollups_without_primary_key
ALTER TABLE "rollups" DROP CONSTRAINT "rollups_pkey";
