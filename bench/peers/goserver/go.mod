module scoreboard/bench/goserver

go 1.19
