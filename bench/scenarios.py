"""The requests of the load scenarios, shared by the benchmark and its locustfile (which must not be imported
by the benchmark: importing locust patches the process with gevent)."""

CACHED = {"points": [[2.80437, 50.43061], [2.78975, 50.44406]], "profile": "bike"}
CIRCUIT_GPX = "/v1/circuits/trail-pyramides-noires-inspire?format=gpx"
RACE_GPX = CIRCUIT_GPX + "&race=true&start_time=2027-03-06T06:00:00%2B01:00"
