module github.com/keyward/keyward/bench

go 1.26.8
