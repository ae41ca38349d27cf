-- Counts the uses recorded before 0008, once: one pass grouped by session (the (sid, kind) index of 0002).
-- A recount from the events, so running it again gives the same result; the store
-- contract runs it on a filled table (tests/api/store/session_counters.rs). An instance still
-- running the previous release during an upgrade writes uses without counting them: upgrade
-- every instance, or run this file again afterwards.
UPDATE sessions s
   SET use_count = c.uses, last_used_at = c.last_used_at
  FROM (SELECT sid, COUNT(*) AS uses, MAX(at) AS last_used_at
          FROM audit_events
         WHERE kind = 'token_used' AND sid IS NOT NULL
         GROUP BY sid) c
 WHERE s.id = c.sid;
