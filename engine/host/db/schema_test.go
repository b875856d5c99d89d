package db

import (
	"testing"
)

func TestSchema_Seed(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.driver, func(t *testing.T) {
			for range 2 { // idempotent
				for _, s := range Statements(Schema(b.driver) + Seed(b.driver)) {
					exec(t, b.db, s)
				}
			}
			m := exports(t, b.db, nil)
			row, err := m["first"].(func(string, ...any) (map[string]any, error))(
				`SELECT media.id AS media_id, users.name AS name, users.email AS email, media.status AS status
				   FROM media JOIN users ON users.id = media.user_id WHERE media.task_id = ?`, "task_demo_video")
			if err != nil {
				t.Fatal(err)
			}
			if row["name"] != "Ada Lovelace" || row["email"] != "ada@example.com" || row["status"] != "processing" {
				t.Fatalf("seed row = %v", row)
			}
			var n int
			b.db.SQL().QueryRow("SELECT COUNT(*) FROM users").Scan(&n)
			if n != 1 {
				t.Errorf("users = %d after seeding twice", n)
			}
			// The sequences moved past the seeded ids.
			res, err := m["exec"].(func(string, ...any) (map[string]any, error))("INSERT INTO users (name, email) VALUES (?, ?)", "Grace", "grace@example.com")
			if err != nil || res["rowsAffected"] != int64(1) {
				t.Fatalf("insert after seed: %v %v", res, err)
			}
			// The scripts' own statements run against it.
			if _, err := m["exec"].(func(string, ...any) (map[string]any, error))(
				"UPDATE media SET status = ?, output_url = ?, metadata = ?, updated_at = CURRENT_TIMESTAMP WHERE id = ?",
				"completed", "https://example.com/v.mp4", map[string]any{"width": int64(640)}, int64(1)); err != nil {
				t.Fatal(err)
			}
		})
	}
}
