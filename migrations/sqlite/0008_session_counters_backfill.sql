-- Counts the uses recorded before 0007, once (by the (sid, kind) index of 0002). A recount from the
-- events, so running it again gives the same result; the store contract runs it on a filled
-- table (tests/api/store/session_counters.rs).
UPDATE sessions
   SET (use_count, last_used_at) =
       (SELECT COUNT(*), MAX(e.at) FROM audit_events e
         WHERE e.sid = sessions.id AND e.kind = 'token_used');
