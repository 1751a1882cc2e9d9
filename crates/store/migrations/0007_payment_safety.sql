-- The user an activation payment created: the only user its paying browser may be signed in as.
ALTER TABLE payments ADD COLUMN activated_user_id TEXT;
