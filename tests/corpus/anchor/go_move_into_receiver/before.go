package store

import (
	"database/sql"
	"fmt"
	"os"
)

type UserRepo struct {
	db *sql.DB
}

type OrderRepo struct {
	db *sql.DB
}

func (r *UserRepo) Save(u User) (int64, error) {
	q := fmt.Sprintf("INSERT INTO users VALUES ('%s')", u.Name)
	res, err := r.db.Exec(q)
	if err != nil {
		return 0, err
	}
	return res.LastInsertId()
}

func (r *OrderRepo) Save(o Order) (int64, error) {
	res, err := r.db.Exec("INSERT INTO orders VALUES (?, ?)", o.ID, o.Total)
	if err != nil {
		return 0, err
	}
	return res.LastInsertId()
}

func (r *UserRepo) Find(name string) (*User, error) {
	row := r.db.QueryRow("SELECT * FROM users WHERE name = '" + name + "'")
	var u User
	return &u, row.Scan(&u.Name)
}

// LoadConfig reads the configuration file.
func LoadConfig(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	fmt.Println("loaded", path)
	return parseConfig(data)
}

func LoadSettings(path string) (*Settings, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	fmt.Println("loaded", path)
	return parseSettings(data)
}

func ComputeTotal(items []Item) int {
	total := 0
	for _, it := range items {
		total += it.Price * it.Qty
	}
	return total
}

func helper() int {
	return 42
}
