package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// ErrKeyNotFound reports an unknown campaign key.
var ErrKeyNotFound = errors.New("key not found")

// Key is a campaign key: a name, the campaigns it may see, and the
// SHA-256 of its secret. The secret itself is never stored.
type Key struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Campaigns []string  `json:"campaigns"`
	Hash      []byte    `json:"hash"`
	CreatedAt time.Time `json:"createdAt"`
}

// PutKey stores a new key.
func (db *DB) PutKey(ctx context.Context, k *Key) error {
	return db.bolt.Update(func(tx *bolt.Tx) error {
		if err := putJSON(tx.Bucket(bucketKeys), []byte(k.ID), k); err != nil {
			return err
		}
		return tx.Bucket(bucketKeyHashes).Put(k.Hash, []byte(k.ID))
	})
}

// KeyByHash returns the key whose secret hashes to h, or ErrKeyNotFound.
func (db *DB) KeyByHash(ctx context.Context, h []byte) (*Key, error) {
	var k *Key
	err := db.bolt.View(func(tx *bolt.Tx) error {
		id := tx.Bucket(bucketKeyHashes).Get(h)
		if id == nil {
			return ErrKeyNotFound
		}
		var err error
		k, err = getKey(tx, id)
		return err
	})
	return k, err
}

func getKey(tx *bolt.Tx, id []byte) (*Key, error) {
	v := tx.Bucket(bucketKeys).Get(id)
	if v == nil {
		return nil, ErrKeyNotFound
	}
	var k Key
	if err := json.Unmarshal(v, &k); err != nil {
		return nil, fmt.Errorf("decode key %q: %w", id, err)
	}
	return &k, nil
}

// Keys returns every key, in id order.
func (db *DB) Keys(ctx context.Context) ([]*Key, error) {
	var out []*Key
	err := db.bolt.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketKeys).ForEach(func(id, _ []byte) error {
			k, err := getKey(tx, id)
			if err == nil {
				out = append(out, k)
			}
			return err
		})
	})
	return out, err
}

// DeleteKey removes the key with id; its secret stops working at once.
func (db *DB) DeleteKey(ctx context.Context, id string) error {
	return db.bolt.Update(func(tx *bolt.Tx) error {
		k, err := getKey(tx, []byte(id))
		if err != nil {
			return err
		}
		if err := tx.Bucket(bucketKeyHashes).Delete(k.Hash); err != nil {
			return err
		}
		return tx.Bucket(bucketKeys).Delete([]byte(id))
	})
}
