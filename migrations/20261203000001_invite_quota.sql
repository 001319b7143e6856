-- The hourly invitation quota counts an officer's invitations of the last hour.
CREATE INDEX invitations_inviter_created ON invitations (inviter_email, created_at);
