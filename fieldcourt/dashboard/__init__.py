"""``fieldcourt dashboard``: a web page for each judicial section and for the COJC.

* ``users``: who may sign in, each in one role (a section or the COJC), passwords hashed with
  argon2 in a file.
* ``sessions``: signed session cookies with an expiry, CSRF tokens, sign-out.
* ``state``: what the section topics and the alerts topic hold, rebuilt from them on start.
* ``feed``: the Kafka side: one consumer per role's topic, the audit producer.
* ``sectormap``: the SVG map of the sectors file.
* ``routes``: the pages, the consultation form and the server-sent events.
* ``server``: puts them together and serves until SIGINT or SIGTERM.
"""
