package postgres

var DSNSets = dsnSets
