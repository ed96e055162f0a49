-- Vantage collector schema, version 8: the address a result must echo of its task (issue 19).
-- Ingest believes a result only when its task was issued to that probe in that round
-- (collector/service/issued_tasks.py), and only about that task's target: its protocol and
-- target_id (stored since version 1) and the address the task names (canonical text, '' when
-- it names none). Tasks issued before this version keep '': their results are compared on
-- protocol and target_id only, until retention drops them.

ALTER TABLE issued_tasks ADD COLUMN address TEXT NOT NULL DEFAULT '';
