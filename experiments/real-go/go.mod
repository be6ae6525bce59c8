module podsim/experiments/realgo

go 1.19
