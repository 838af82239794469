from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from streams.address import address_key

CURIAL = "12 RUE CURIAL PARIS 75019"


@pytest.mark.parametrize(
    ("address", "key"),
    [
        # SPEC 4's example, and other placements of the postcode and commas
        ("12, Rue Curial 75019 Paris", CURIAL),
        ("12 rue curial, 75019 PARIS", CURIAL),
        ("12 rue Curial 75019 Paris", CURIAL),
        ("12 rue Curial, Paris 75019", CURIAL),
        ("12 rue Curial Paris 75019", CURIAL),
        ("75019 Paris, 12 rue Curial", CURIAL),
        ("12, rue Curial, 75019, Paris", CURIAL),
        ("12 rue Curial 75019Paris", CURIAL),
        ("12 r. Curial, 75019 Paris", CURIAL),
        ("12 R Curial 75019 Paris", CURIAL),
        ("n° 12 rue Curial 75019 Paris", CURIAL),
        ("N°12, rue Curial, 75019 Paris", CURIAL),
        ("  12   RUE  CURIAL ,  75019   PARIS  ", CURIAL),
        ("12 rue Curial 75019 Paris.", CURIAL),
        # case, accents, ligatures, punctuation
        ("5 rue de l'Ourcq", "5 RUE DE L OURCQ"),
        ("5 rue de l\u2019Ourcq", "5 RUE DE L OURCQ"),
        ("8 Allée Darius Milhaud", "8 ALLEE DARIUS MILHAUD"),
        ("3 rue du Cœur-Volant", "3 RUE DU COEUR VOLANT"),
        ("2 Rue Édouard Pailleron", "2 RUE EDOUARD PAILLERON"),
        ("2 Rue E\u0301douard Pailleron", "2 RUE EDOUARD PAILLERON"),
        ("Rue Curial (angle rue de Crimée)", "RUE CURIAL ANGLE RUE DE CRIMEE"),
        ("Rue Curial / rue de Tanger", "RUE CURIAL RUE DE TANGER"),
        # bis, ter and other suffixes
        ("12bis rue Curial", "12 BIS RUE CURIAL"),
        ("12 bis rue Curial", "12 BIS RUE CURIAL"),
        ("12 BIS, rue Curial", "12 BIS RUE CURIAL"),
        ("12ter r Curial", "12 TER RUE CURIAL"),
        ("12 quater rue Curial", "12 QUATER RUE CURIAL"),
        ("12B r Curial", "12 B RUE CURIAL"),
        ("12-14 rue Curial", "12 14 RUE CURIAL"),
        # street types
        ("3 bd de la Villette", "3 BOULEVARD DE LA VILLETTE"),
        ("3 Bd. de la Villette", "3 BOULEVARD DE LA VILLETTE"),
        ("3 boul de la Villette", "3 BOULEVARD DE LA VILLETTE"),
        ("3 Bld de la Villette", "3 BOULEVARD DE LA VILLETTE"),
        ("40 av. Jean Jaurès", "40 AVENUE JEAN JAURES"),
        ("40 ave Jean Jaurès", "40 AVENUE JEAN JAURES"),
        ("1 pl. de la Bataille de Stalingrad", "1 PLACE DE LA BATAILLE DE STALINGRAD"),
        ("9 imp. Curial", "9 IMPASSE CURIAL"),
        ("4 all. des Orgues", "4 ALLEE DES ORGUES"),
        ("all. des Orgues", "ALLEE DES ORGUES"),
        ("7 pass. Gustave Lepeu", "7 PASSAGE GUSTAVE LEPEU"),
        ("sq. des Petits Ponts", "SQUARE DES PETITS PONTS"),
        ("110 quai de Jemmapes", "110 QUAI DE JEMMAPES"),
        ("12 crs de Vincennes", "12 COURS DE VINCENNES"),
        ("15 ch. des Vignes", "15 CHEMIN DES VIGNES"),
        ("bd Saint-Michel", "BOULEVARD SAINT MICHEL"),
        # saints, faubourgs, titles
        ("140 rue du Fbg St-Denis", "140 RUE DU FAUBOURG SAINT DENIS"),
        ("140 r. du Fg Saint Denis", "140 RUE DU FAUBOURG SAINT DENIS"),
        ("2 rue Ste-Marthe", "2 RUE SAINTE MARTHE"),
        ("6 rue St Maur", "6 RUE SAINT MAUR"),
        ("1 av. du Gal Leclerc", "1 AVENUE DU GENERAL LECLERC"),
        ("1 bd du Mal Lannes", "1 BOULEVARD DU MARECHAL LANNES"),
        # letters that must stay: not in street-type position
        ("3 rue R. Aron", "3 RUE R ARON"),
        ("rue R", "RUE R"),
        ("3 rue des All Stars", "3 RUE DES ALL STARS"),
        ("Pass", "PASS"),
        ("Bâtiment N, 4 rue Curial", "BATIMENT N 4 RUE CURIAL"),
        # the street type also follows a leading building or place part
        ("Bâtiment B, 4 r Curial", "BATIMENT B 4 RUE CURIAL"),
    ],
)
def test_address_key(address: str, key: str) -> None:
    assert address_key(address) == key


@pytest.mark.parametrize("address", [None, "", " ", "\t\n", ",", " , ; . ", "°"])
def test_no_address_no_key(address: str | None) -> None:
    assert address_key(address) is None


def test_distinct_addresses_keep_distinct_keys() -> None:
    keys = {
        address_key(a)
        for a in ("12 rue Curial", "12 bis rue Curial", "14 rue Curial", "12 rue de Tanger")
    }
    assert len(keys) == 4


_WORDS = st.sampled_from(
    [
        "12",
        "3bis",
        "75019",
        "Paris",
        "rue",
        "r",
        "R.",
        "bd",
        "all",
        "St-Denis",
        "n°",
        "N",
        "B",
        "Curial",
        "l'Ourcq",
        "Crimée",
        "ter",
        "pass",
        ",",
        ", ",
        "  ",
        "Œ",
    ]
)


@given(st.lists(_WORDS, max_size=10).map(" ".join))
def test_key_of_a_key_is_itself(address: str) -> None:
    key = address_key(address)
    if key is not None:
        assert address_key(key) == key
        assert key == key.strip().upper()
        assert "  " not in key
