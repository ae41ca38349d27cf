-- Indexes that end a filtered feed page within a page of reads (src/store/audit_filter.rs):
-- a kind or session filter seeks its (user, kind) or (user, session) run and walks it by id,
-- newest first, so a rare or absent kind costs one seek instead of a walk through the user's
-- whole feed. Every index costs each audit batch more page writes: the (sid, kind) index only
-- served the session list's counting, which the counters of 0007 replaced, so it goes and the
-- write path keeps one more index than before, not two.
CREATE INDEX audit_events_by_kind ON audit_events (user_id, kind, id);
CREATE INDEX audit_events_by_user_session ON audit_events (user_id, sid, id);
DROP INDEX audit_events_by_session;
