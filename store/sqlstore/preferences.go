package sqlstore

import (
	"context"
	"fmt"
)

func (s *DB) NotificationPrefs(ctx context.Context, accountID string) (map[string]bool, error) {
	rows, err := s.query(ctx, `SELECT event, channel, enabled FROM notification_prefs WHERE account_id = ?`, accountID)
	if err != nil {
		return nil, fmt.Errorf("reading notification settings: %w", err)
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var event, channel string
		var on bool
		if err := rows.Scan(&event, &channel, boolCol{&on}); err != nil {
			return nil, fmt.Errorf("reading notification setting: %w", err)
		}
		out[event+"/"+channel] = on
	}
	return out, rows.Err()
}

func (s *DB) SetNotificationPref(ctx context.Context, accountID, event, channel string, on bool) error {
	_, err := s.exec(ctx, `INSERT INTO notification_prefs (account_id, event, channel, enabled) VALUES (?,?,?,?)
		ON CONFLICT (account_id, event, channel) DO UPDATE SET enabled = excluded.enabled`, accountID, event, channel, b2i(on))
	if err != nil {
		return fmt.Errorf("saving notification setting: %w", err)
	}
	return nil
}
