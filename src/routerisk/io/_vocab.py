"""Vocabularies: column-name aliases and the tables that map free text to canonical labels.

Everything here is data. Matching is on normalised text (lower case, accents removed, single spaces), so
``"Desaparición"`` matches ``"desaparicion"``. A label is found by, in order: the canonical name itself, an
exact synonym, then the first keyword pattern (a regular expression) that matches.
"""

from __future__ import annotations

# --------------------------------------------------------------------------------------------- column aliases
# Normalised names (see routerisk.io._tables.norm_name), in order of preference.

ID_ALIASES = {
    "incidents": ("incident_id", "id", "event_id", "id_incidente", "folio", "uid", "record_id", "event_id_cnty"),
    "zones": ("zone_id", "id", "id_zona", "uid"),
    "routes": ("route_id", "id", "id_ruta", "uid"),
    "shelters": ("shelter_id", "id", "id_albergue", "uid"),
}
NAME_ALIASES = ("name", "nombre", "label", "title", "titulo")
DATE_ALIASES = (
    "date", "fecha", "event_date", "incident_date", "fecha_evento", "fecha_del_evento", "fecha_incidente",
    "fecha_de_los_hechos", "reported_date", "datetime", "timestamp",
)  # fmt: skip
CATEGORY_ALIASES = ("category", "categoria", "type", "tipo", "incident_type", "tipo_de_incidente", "delito", "crime")
PERPETRATOR_ALIASES = ("perpetrator", "perpetrador", "responsable", "presunto_responsable", "actor", "agresor")
VICTIMS_ALIASES = (
    "victims", "victimas", "n_victims", "num_victims", "number_of_victims", "numero_de_victimas", "victims_count",
    "count", "personas", "people",
)  # fmt: skip
LOCATION_PRECISION_ALIASES = ("location_precision", "precision", "precision_ubicacion", "geo_precision")
DATE_PRECISION_ALIASES = ("date_precision", "precision_fecha")
SOURCE_ALIASES = ("source", "fuente", "information_source", "source_name")
URL_ALIASES = ("source_url", "url", "link", "enlace", "fuente_url")
NOTES_ALIASES = ("notes", "notas", "description", "descripcion", "comments", "comentarios", "observaciones", "details")
SYNTHETIC_ALIASES = ("synthetic", "sintetico")
ILLUSTRATIVE_ALIASES = ("illustrative", "ilustrativo")
WKT_ALIASES = ("geometry", "wkt", "geom", "the_geom", "geometria")

# ------------------------------------------------------------------------------------------------ categories

CATEGORY_SYNONYMS = {
    "homicidio": "homicide", "asesinato": "homicide", "murder": "homicide", "killing": "homicide",
    "feminicidio": "homicide", "ejecucion": "homicide",
    "desaparicion": "disappearance", "desaparicion forzada": "disappearance", "desaparecido": "disappearance",
    "forced disappearance": "disappearance", "missing": "disappearance",
    "secuestro": "kidnapping", "kidnap": "kidnapping", "abduction": "kidnapping",
    "privacion de la libertad": "kidnapping", "levanton": "kidnapping",
    "violacion": "sexual_violence", "abuso sexual": "sexual_violence", "violencia sexual": "sexual_violence",
    "rape": "sexual_violence", "sexual assault": "sexual_violence", "sexual abuse": "sexual_violence",
    "tortura": "torture",
    "trata": "trafficking", "trata de personas": "trafficking", "human trafficking": "trafficking",
    "agresion": "assault", "lesiones": "assault", "ataque": "assault", "attack": "assault", "golpiza": "assault",
    "extorsion": "extortion", "cobro de piso": "extortion",
    "robo": "robbery", "asalto": "robbery", "theft": "robbery", "hurto": "robbery", "mugging": "robbery",
    "abuso de autoridad": "enforcement_abuse", "abuso policial": "enforcement_abuse",
    "detencion arbitraria": "enforcement_abuse", "police abuse": "enforcement_abuse",
    "accidente": "accident",
    "exposicion": "exposure", "deshidratacion": "exposure", "hipotermia": "exposure", "hypothermia": "exposure",
    "hyperthermia": "exposure", "dehydration": "exposure", "golpe de calor": "exposure",
    "ahogamiento": "drowning", "ahogado": "drowning", "drowned": "drowning",
    "otro": "other", "otros": "other", "unknown": "other", "desconocido": "other", "n/a": "other",
}  # fmt: skip

CATEGORY_KEYWORDS = (
    (r"homicid|asesin|murder|\bkill|ejecut|feminicid|\bshot\b|disparo|gunshot|stabb?ed|violence\)|^violence$", "homicide"),  # noqa: E501
    (r"desapar|disappear", "disappearance"),
    (r"secuest|kidnap|abduct|levant[oó]n", "kidnapping"),
    (r"violaci|sexual|\brape", "sexual_violence"),
    (r"tortur", "torture"),
    (r"\btrata\b|traffick|explotacion", "trafficking"),
    (r"extors|extort|cobro de piso", "extortion"),
    (r"abuso de autoridad|abuso policial|detencion arbitraria|excessive force|police abuse|uso excesivo", "enforcement_abuse"),  # noqa: E501
    (r"\brob|asalt|theft|hurto|despojo", "robbery"),
    (r"ahog|drown", "drowning"),
    (r"deshidrat|dehydrat|hipoterm|hypotherm|hiperterm|hypertherm|insolaci|calor|heat|exposici|exposure", "exposure"),
    (r"accident|train|\btren|vehic|atropell|caida|\bfall", "accident"),
    (r"agresi|lesion|golpe|attack|ataque|assault|beat", "assault"),
)  # fmt: skip

# IOM "Cause of Death" -> category (IOM records deaths and disappearances in migration; no perpetrator).
# Applied in this order to the normalised text; the first match wins:
#   drowning   : drown (incl. "Presumed drowning")
#   homicide   : IOM's "Violence" group: shot, gunshot, violence (incl. "Unknown (violence)"), murder, homicide,
#                stabbed, killed, beaten, blunt force, "Excessive physical abuse" (also when listed with sexual
#                abuse), torture
#   sexual_violence : sexual abuse / assault / violence, rape (when no cause above is named)
#   accident   : train, vehicle, accident, hit by, fall (from train / vehicle / into a canyon), electrocution,
#                crushed, asphyxiation, suffocation
#   exposure   : hypothermia, hyperthermia, dehydration, exposure, heat, harsh conditions, starvation
#   sickness   : sickness, illness, "Sickness and lack of access to medicines", pneumonia, cardiac, heart, disease,
#                atherosclerosis, infection
#   other      : suicide (no specific category)
#   other + note "cause of death unknown": unknown, skeletal / mummified / decomposed remains, mixed, blank
IOM_CAUSE_KEYWORDS = (
    (r"drown|ahog", "drowning"),
    # IOM's "Violence" causes: every record is a death or disappearance, so a violent cause is a homicide
    (r"\bshot\b|gunshot|violen|murder|homicid|stabb?(ed|ing)|\bkill|beat(en|ing)|asesin|physical abuse"
     r"|blunt force|tortur", "homicide"),
    (r"sexual (abuse|assault|violence)|\brape", "sexual_violence"),
    (r"train|vehic|accident|hit by|\bfall|electrocut|crush|asphyx|suffocat|\bcar\b|\btruck", "accident"),
    (r"hypotherm|hypertherm|dehydrat|exposure|heat|harsh|starv|hipoterm|deshidrat", "exposure"),
    (r"sick|illness|pneumon|cardiac|heart|disease|atheroscl|medic|cancer|diabet|organ failure|infect|enferm",
     "sickness"),
    (r"suicide", "other"),
)
IOM_UNKNOWN_RE = r"unknown|skeletal|mummif|decompos|mixed|remains|desconoc"

# ACLED sub_event_type -> category. "Attack", explosions and strikes with fatalities are homicides.
ACLED_SUB_EVENTS = {
    "abduction/forced disappearance": "disappearance",
    "sexual violence": "sexual_violence",
    "attack": "assault",
    "armed clash": "assault",
    "mob violence": "assault",
    "violent demonstration": "assault",
    "excessive force against protesters": "enforcement_abuse",
    "arrests": "enforcement_abuse",
    "looting/property destruction": "robbery",
    "grenade": "assault",
    "remote explosive/landmine/ied": "assault",
    "air/drone strike": "assault",
    "shelling/artillery/missile attack": "assault",
    "suicide bomb": "assault",
}
#: Sub-event types whose rows become ``homicide`` when fatalities > 0.
ACLED_LETHAL = ("attack", "armed clash", "mob violence", "grenade", "remote explosive/landmine/ied",
                "air/drone strike", "shelling/artillery/missile attack", "suicide bomb")  # fmt: skip

# ------------------------------------------------------------------------------------------------ perpetrators

PERPETRATOR_SYNONYMS = {
    "crimen organizado": "organized_crime", "delincuencia organizada": "organized_crime",
    "organized crime": "organized_crime", "cartel": "organized_crime",
    "policia": "state_security", "police": "state_security", "military": "state_security",
    "army": "state_security", "ejercito": "state_security", "guardia nacional": "state_security",
    "inm": "migration_authority", "migracion": "migration_authority", "immigration": "migration_authority",
    "delincuencia comun": "common_crime", "common crime": "common_crime",
    "desconocido": "unknown", "unknown": "unknown", "no identificado": "unknown", "sin dato": "unknown",
    "n/a": "unknown", "na": "unknown",
}  # fmt: skip
PERPETRATOR_KEYWORDS = (
    (r"\binm\b|migraci|migrator|immigration|border patrol|patrulla fronteriza|\bcbp\b|\bice\b", "migration_authority"),
    (r"polic|militar|military|army|ejercito|sedena|semar|marina|\bnavy|guardia nacional|national guard|soldad|"
     r"soldier|armed forces|fuerzas armadas", "state_security"),
    (r"crimen organizado|delincuencia organizada|organized crime|cartel|narco|zetas|cjng|sinaloa|gang|pandill|"
     r"\bmaras?\b|ms ?13|barrio 18|armed group|grupo armado|sicari|criminal group|coyote|pollero|smuggl|"
     r"traficante", "organized_crime"),
    (r"delincuencia comun|common crim|ladron|thie|robber|asaltante|delincuente|rioter|\bmob\b", "common_crime"),
)  # fmt: skip

# --------------------------------------------------------------------------------------------- other labels

LOCATION_PRECISION_SYNONYMS = {
    "exacta": "exact", "exacto": "exact", "precise": "exact", "point": "exact", "punto": "exact", "gps": "exact",
    "localidad": "locality", "city": "locality", "ciudad": "locality", "town": "locality", "pueblo": "locality",
    "village": "locality", "colonia": "locality",
    "municipio": "municipality", "county": "municipality", "condado": "municipality", "alcaldia": "municipality",
    "estado": "state", "entidad": "state", "province": "state",
    "desconocida": "unknown", "desconocido": "unknown",
}  # fmt: skip
DATE_PRECISION_SYNONYMS = {"dia": "day", "mes": "month", "ano": "year", "desconocida": "unknown"}

AGENCY_SYNONYMS = {
    "gn": "guardia_nacional", "guardia nacional": "guardia_nacional", "national guard": "guardia_nacional",
    "sedena": "army", "ejercito": "army", "military": "army",
    "semar": "navy", "marina": "navy",
    "inm": "migration_authority", "migracion": "migration_authority", "instituto nacional de migracion": "migration_authority",  # noqa: E501
    "policia estatal": "state_police", "state police": "state_police", "policia": "state_police",
    "otro": "other", "otra": "other",
}  # fmt: skip
AGENCY_KEYWORDS = (
    (r"guardia nacional|national guard", "guardia_nacional"),
    (r"\binm\b|migraci|immigration", "migration_authority"),
    (r"ejercito|sedena|army|militar", "army"),
    (r"semar|marina|\bnavy", "navy"),
    (r"polic", "state_police"),
)
ZONE_KIND_SYNONYMS = {
    "despliegue": "deployment", "deployment area": "deployment",
    "reten": "checkpoint", "punto de revision": "checkpoint", "punto de control": "checkpoint",
    "control": "checkpoint", "filtro": "checkpoint", "garita": "checkpoint",
    "estacion migratoria": "detention", "detencion": "detention", "estancia provisional": "detention",
    "detention center": "detention",
    "patrullaje": "patrol", "patrulla": "patrol",
}  # fmt: skip
ZONE_KIND_KEYWORDS = (
    (r"despliegue|deploy", "deployment"),
    (r"reten|revision|checkpoint|control|filtro|garita", "checkpoint"),
    (r"estacion migratoria|detenc|detention|estancia", "detention"),
    (r"patrul|patrol", "patrol"),
)
MODE_SYNONYMS = {
    "tren": "rail", "train": "rail", "ferrocarril": "rail", "la bestia": "rail", "railway": "rail", "railroad": "rail",
    "carretera": "road", "highway": "road", "bus": "road", "autobus": "road", "camion": "road", "truck": "road",
    "a pie": "foot", "walking": "foot", "pie": "foot", "caminando": "foot",
    "rio": "river", "boat": "river", "lancha": "river", "balsa": "river", "maritime": "river",
    "mixto": "mixed", "mixta": "mixed",
}  # fmt: skip
MODE_KEYWORDS = (
    (r"tren|train|ferro|rail|bestia", "rail"),
    (r"carreter|highway|road|bus|camion|truck", "road"),
    (r"\bpie\b|walk|foot|camin", "foot"),
    (r"\brio\b|river|boat|lancha|balsa", "river"),
)
SHELTER_KIND_SYNONYMS = {
    "albergue": "shelter", "casa del migrante": "shelter", "refugio": "shelter", "casa de migrantes": "shelter",
    "comar": "asylum_office", "asylum": "asylum_office", "asilo": "asylum_office", "asylum office": "asylum_office",
    "oficina de comar": "asylum_office", "otro": "other",
}  # fmt: skip
SHELTER_KIND_KEYWORDS = (
    (r"comar|asylum|asilo|refugiad", "asylum_office"),
    (r"albergue|casa del? migrante|shelter|refugio|casa", "shelter"),
)
