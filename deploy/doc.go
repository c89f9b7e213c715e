// Package deploy holds firebreak's deployment files beside the root
// Dockerfile and docker-compose.yml: the Temporal schema and namespace
// scripts and the Temporal server's dynamic configuration (deploy/temporal).
// Its tests check those files against each other and against the code: every
// variable docker-compose.yml reads is documented in .env.example, every
// env() of the shipped library reaches the worker, and docker-compose accepts
// the file with and without a .env.
package deploy
