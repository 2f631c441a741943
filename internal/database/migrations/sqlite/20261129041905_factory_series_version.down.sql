-- reverse: create "new_factories" table
DROP TABLE `new_factories`;
