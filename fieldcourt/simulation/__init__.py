"""The simulator's parts, one concern a module; ``fieldcourt.simulate`` is the public face.

``config`` (what to simulate, the story's timeline), ``paris`` (places, loaded from
``fieldcourt/data/sim_paris.yaml``), ``names`` (invented people, syllables from
``fieldcourt/data/sim_names.yaml``), ``events`` (building blocks shared by the story and the
background), ``storyteller`` (the story's beats and how it writes one event), ``story`` (the
plot), ``background``, ``feed`` (story and background merged in event time) and ``output``
(time shifting and the replay file).
"""
