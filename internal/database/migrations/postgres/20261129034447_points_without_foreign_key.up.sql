-- hand-written: points_without_foreign_key
ALTER TABLE "chart_data" DROP CONSTRAINT "chart_data_factories_points";
