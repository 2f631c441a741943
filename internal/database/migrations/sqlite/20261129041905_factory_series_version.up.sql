-- disable the enforcement of foreign-keys constraints
PRAGMA foreign_keys = off;
-- create "new_factories" table
CREATE TABLE `new_factories` (`id` integer NOT NULL PRIMARY KEY AUTOINCREMENT, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `name` text NOT NULL, `series_version` integer NOT NULL DEFAULT (0));
-- copy rows from old table "factories" to new temporary table "new_factories"
INSERT INTO `new_factories` (`id`, `created_at`, `updated_at`, `name`) SELECT `id`, `created_at`, `updated_at`, `name` FROM `factories`;
-- drop "factories" table after copying rows
DROP TABLE `factories`;
-- rename temporary table "new_factories" to "factories"
ALTER TABLE `new_factories` RENAME TO `factories`;
-- enable back the enforcement of foreign-keys constraints
PRAGMA foreign_keys = on;
