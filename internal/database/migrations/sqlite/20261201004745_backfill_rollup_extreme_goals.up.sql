-- hand-written: backfill_rollup_extreme_goals
UPDATE rollups SET min_actual_goal = COALESCE((SELECT c.goal FROM chart_data c WHERE c.factory_id = rollups.factory_id AND c."time" = rollups.min_actual_time), 0), max_actual_goal = COALESCE((SELECT c.goal FROM chart_data c WHERE c.factory_id = rollups.factory_id AND c."time" = rollups.max_actual_time), 0);
