package store

import "testing"

func TestMigrationsCoverEveryVersion(t *testing.T) {
	for v, step := range migrations() {
		if step == nil {
			t.Errorf("no migration from schema %d to %d", v, v+1)
		}
	}
}
