module scoreboard/bench/tool

go 1.19
