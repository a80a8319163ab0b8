package server

import "net/http"

var defaultMux = http.NewServeMux()

func init() {
	defaultMux.HandleFunc("/health", health)
}

func init() {
	defaultMux.HandleFunc("/users", listUsers)
}

type Handler interface {
	ServeHTTP(w http.ResponseWriter, r *http.Request)
}

type Server struct {
	mux  *http.ServeMux
	addr string
}

func health(w http.ResponseWriter, r *http.Request) {
	w.WriteHeader(http.StatusOK)
}

func listUsers(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query().Get("q")
	rows, _ := db.Query("SELECT name FROM users WHERE name LIKE '%" + q + "%'")
	writeJSON(w, rows)
}
