"""Shapes: outer profiles r(h), handles and decoration zones of each shape family."""
from __future__ import annotations

from vaselib import vocabulary as voc

# Units: the vase's height is 1, radii in the same unit.  ``pts`` are (r, h) control points
# of the outer wall from the resting edge of the foot (h = 0) to the rim (h = 1), smoothed
# with a Catmull-Rom spline.  ``floor`` is the height of the inside floor.
# Handles: ("v", azimuth°, h_low, h_high, bulge, rise, tube radius) loops in a vertical
# plane; ("h", azimuth°, h, half span°, bulge, rise, tube radius) horizontal loops.
# Zones (heights) tell the painter where to put the foot, rays, figures, shoulder and neck
# ornament and the lip.

def _two(kind, *args):
    """A pair of handles on opposite sides (azimuth ±90°)."""
    return [(kind, 90.0, *args), (kind, -90.0, *args)]


_FAMILIES: dict[str, dict] = {
    "amphora": dict(
        pts=[(.150, 0), (.152, .020), (.118, .045), (.100, .070), (.140, .120), (.215, .230),
             (.268, .380), (.282, .500), (.262, .615), (.200, .705), (.128, .760),
             (.104, .800), (.098, .880), (.112, .930), (.140, .965), (.138, 1)],
        handles=_two("v", .70, .90, .10, .03, .017),
        zones=dict(foot=.07, lower=(.09, .24), panel=(.28, .62), shoulder=(.64, .73),
                   neck=(.80, .92), lip=.93)),
    "pelike": dict(
        pts=[(.170, 0), (.172, .025), (.150, .055), (.200, .120), (.275, .250), (.292, .350),
             (.265, .500), (.210, .660), (.160, .780), (.140, .870), (.165, .950), (.165, 1)],
        handles=_two("v", .74, .94, .08, .02, .016),
        zones=dict(foot=.06, lower=(.08, .20), panel=(.24, .66), shoulder=(.68, .76),
                   neck=None, lip=.92)),
    "stamnos": dict(
        pts=[(.150, 0), (.155, .030), (.115, .070), (.160, .140), (.260, .320), (.330, .560),
             (.320, .660), (.240, .770), (.150, .830), (.145, .920), (.165, .970), (.165, 1)],
        handles=_two("h", .60, 20, .07, .05, .017),
        zones=dict(foot=.07, lower=(.09, .25), panel=(.28, .60), shoulder=(.66, .78),
                   neck=(.84, .93), lip=.94)),
    "hydria": dict(
        pts=[(.150, 0), (.155, .025), (.110, .060), (.140, .120), (.230, .280), (.300, .480),
             (.300, .560), (.250, .660), (.150, .730), (.100, .770), (.095, .860),
             (.120, .940), (.160, .980), (.160, 1)],
        handles=_two("h", .50, 22, .07, .03, .016) + [("v", 180.0, .66, .96, .13, .05, .02)],
        zones=dict(foot=.06, lower=(.08, .22), panel=(.26, .50), shoulder=(.55, .70),
                   neck=(.78, .90), lip=.93)),
    "loutrophoros": dict(
        pts=[(.130, 0), (.130, .025), (.090, .050), (.070, .080), (.130, .140), (.180, .240),
             (.190, .330), (.150, .420), (.080, .480), (.055, .520), (.050, .620),
             (.050, .800), (.070, .880), (.130, .950), (.130, 1)],
        handles=_two("v", .44, .86, .06, 0.0, .012),
        zones=dict(foot=.05, lower=(.10, .16), panel=(.18, .40), shoulder=(.42, .47),
                   neck=(.56, .85), lip=.90)),
    "krater": dict(  # calyx-krater
        pts=[(.200, 0), (.205, .035), (.150, .065), (.100, .100), (.110, .160), (.220, .240),
             (.300, .340), (.330, .460), (.350, .720), (.380, .920), (.400, .970), (.400, 1)],
        handles=_two("h", .30, 25, .10, .12, .020),
        zones=dict(foot=.08, lower=(.18, .34), panel=(.42, .85), shoulder=None,
                   neck=(.87, .95), lip=.96), floor=.2),
    "dinos": dict(
        pts=[(.200, 0), (.200, .030), (.090, .060), (.080, .300), (.120, .340), (.250, .420),
             (.360, .600), (.330, .780), (.240, .900), (.220, .950), (.240, 1)],
        handles=[], floor=.36,
        zones=dict(foot=.30, lower=(.36, .46), panel=(.50, .80), shoulder=(.82, .90),
                   neck=None, lip=.94)),
    "oinochoe": dict(
        pts=[(.130, 0), (.135, .030), (.110, .060), (.170, .150), (.240, .320), (.255, .450),
             (.220, .580), (.130, .700), (.085, .760), (.080, .840), (.100, .930),
             (.125, .980), (.120, 1)],
        handles=[("v", 180.0, .55, .97, .09, .10, .018)],
        zones=dict(foot=.06, lower=(.08, .22), panel=(.26, .58), shoulder=(.60, .68),
                   neck=None, lip=.88)),
    "kylix": dict(
        pts=[(.400, 0), (.400, .035), (.300, .060), (.100, .120), (.070, .250), (.070, .400),
             (.120, .500), (.350, .580), (.700, .700), (.980, .860), (1.12, .970), (1.14, 1)],
        handles=_two("h", .76, 25, .60, .10, .035), floor=.52, t=.03,
        zones=dict(foot=.12, lower=None, panel=(.62, .90), shoulder=None, neck=None, lip=.93)),
    "skyphos": dict(
        pts=[(.260, 0), (.265, .040), (.240, .070), (.280, .120), (.360, .300), (.420, .600),
             (.450, .850), (.460, 1)],
        handles=_two("h", .86, 18, .12, .02, .025),
        zones=dict(foot=.08, lower=(.10, .22), panel=(.30, .84), shoulder=None, neck=None,
                   lip=.93)),
    "kantharos": dict(
        pts=[(.200, 0), (.200, .030), (.080, .100), (.065, .250), (.120, .320), (.280, .400),
             (.310, .500), (.270, .620), (.280, .800), (.310, 1)],
        handles=_two("v", .42, 1.0, .20, .25, .020), floor=.35,
        zones=dict(foot=.30, lower=None, panel=(.38, .60), shoulder=None, neck=(.66, .95),
                   lip=.96)),
    "rhyton": dict(
        pts=[(.050, 0), (.080, .060), (.110, .200), (.150, .450), (.200, .750), (.240, 1)],
        handles=[("v", 180.0, .70, .98, .08, .04, .015)],
        zones=dict(foot=.05, lower=(.10, .40), panel=(.50, .90), shoulder=None, neck=None,
                   lip=.95)),
    "lekythos": dict(
        pts=[(.110, 0), (.115, .025), (.090, .045), (.125, .090), (.145, .160), (.150, .520),
             (.148, .580), (.120, .630), (.060, .665), (.040, .690), (.037, .800),
             (.045, .850), (.070, .900), (.072, .950), (.050, .980), (.055, 1)],
        handles=[("v", 180.0, .62, .80, .045, .01, .011)],
        zones=dict(foot=.05, lower=(.07, .14), panel=(.17, .54), shoulder=(.57, .65),
                   neck=None, lip=.85)),
    "aryballos": dict(
        pts=[(.100, 0), (.200, .050), (.330, .180), (.400, .380), (.370, .580), (.250, .720),
             (.100, .800), (.075, .850), (.160, .920), (.180, .970), (.170, 1)],
        handles=[("v", 180.0, .74, .93, .07, .02, .020)],
        zones=dict(foot=.04, lower=(.05, .20), panel=(.22, .56), shoulder=(.60, .74),
                   neck=None, lip=.90)),
    "alabastron": dict(
        pts=[(.050, 0), (.120, .060), (.165, .200), (.180, .450), (.170, .700), (.130, .820),
             (.065, .880), (.050, .920), (.120, .975), (.125, 1)],
        handles=[],
        zones=dict(foot=.04, lower=(.05, .18), panel=(.22, .72), shoulder=(.74, .84),
                   neck=None, lip=.93)),
    "askos": dict(
        pts=[(.300, 0), (.320, .030), (.440, .150), (.460, .320), (.360, .450), (.120, .550),
             (.070, .650), (.070, .880), (.100, .950), (.100, 1)],
        handles=[("v", 180.0, .45, .90, .18, .10, .022)],
        zones=dict(foot=.04, lower=None, panel=(.08, .40), shoulder=(.42, .52), neck=None,
                   lip=.90)),
    "pyxis": dict(
        pts=[(.300, 0), (.310, .030), (.280, .060), (.280, .680), (.310, .700), (.320, .760),
             (.300, .800), (.160, .860), (.060, .900), (.045, .940), (.080, .970), (.070, 1)],
        handles=[],
        zones=dict(foot=.06, lower=None, panel=(.12, .64), shoulder=(.72, .82), neck=None,
                   lip=.90)),
    "lekanis": dict(
        pts=[(.250, 0), (.260, .040), (.240, .080), (.360, .220), (.420, .380), (.430, .480),
             (.400, .520), (.250, .720), (.100, .860), (.050, .900), (.100, .960), (.100, 1)],
        handles=_two("h", .42, 18, .10, .05, .020),
        zones=dict(foot=.08, lower=(.12, .36), panel=(.54, .84), shoulder=None, neck=None,
                   lip=.90)),
    "lebes": dict(
        pts=[(.180, 0), (.185, .030), (.100, .080), (.080, .300), (.120, .360), (.260, .460),
             (.330, .580), (.300, .720), (.200, .820), (.140, .860), (.130, .940), (.160, 1)],
        handles=_two("v", .74, .98, .08, .06, .015), floor=.38,
        zones=dict(foot=.33, lower=None, panel=(.44, .72), shoulder=(.74, .84), neck=None,
                   lip=.90)),
    "psykter": dict(
        pts=[(.090, 0), (.100, .030), (.090, .080), (.090, .160), (.240, .320), (.360, .520),
             (.350, .660), (.260, .800), (.120, .880), (.100, .930), (.120, .980), (.120, 1)],
        handles=[], floor=.2,
        zones=dict(foot=.14, lower=None, panel=(.36, .72), shoulder=(.74, .86), neck=None,
                   lip=.92)),
    "plate": dict(
        pts=[(.280, 0), (.290, .150), (.260, .300), (.500, .450), (1.60, .750), (2.20, .950),
             (2.25, 1)],
        handles=[], floor=.42, t=.10,
        zones=dict(foot=.30, lower=None, panel=(.50, .90), shoulder=None, neck=None,
                   lip=.95)),
}

# Shapes whose silhouette differs from their family's default.
_SHAPE_OVERRIDES: dict[str, dict] = {
    "belly-amphora": dict(
        pts=[(.150, 0), (.152, .020), (.120, .045), (.105, .070), (.160, .140), (.250, .280),
             (.290, .450), (.270, .600), (.200, .740), (.140, .840), (.125, .900),
             (.145, .960), (.145, 1)],
        handles=_two("v", .72, .90, .09, .03, .017),
        zones=dict(foot=.07, lower=(.09, .24), panel=(.30, .70), shoulder=None,
                   neck=(.82, .92), lip=.94)),
    "Panathenaic amphora": dict(
        pts=[(.130, 0), (.132, .020), (.100, .050), (.090, .080), (.140, .140), (.230, .280),
             (.275, .450), (.265, .600), (.200, .700), (.100, .760), (.080, .800),
             (.078, .890), (.100, .940), (.120, .970), (.118, 1)]),
    "bell-krater": dict(
        pts=[(.170, 0), (.175, .030), (.130, .070), (.160, .120), (.240, .240), (.280, .380),
             (.300, .550), (.340, .780), (.390, .940), (.400, 1)],
        handles=_two("h", .38, 20, .06, .06, .016),
        zones=dict(foot=.07, lower=(.10, .20), panel=(.25, .82), shoulder=None,
                   neck=(.84, .94), lip=.95)),
    "column-krater": dict(
        pts=[(.190, 0), (.195, .030), (.150, .060), (.180, .120), (.280, .260), (.340, .440),
             (.330, .600), (.270, .720), (.230, .780), (.240, .900), (.340, .940), (.340, 1)],
        handles=_two("v", .68, .96, .10, 0.0, .020),
        zones=dict(foot=.07, lower=(.09, .20), panel=(.25, .62), shoulder=(.64, .74),
                   neck=(.80, .92), lip=.94)),
    "volute-krater": dict(
        pts=[(.190, 0), (.195, .030), (.130, .070), (.180, .130), (.270, .270), (.310, .420),
             (.290, .550), (.220, .660), (.200, .720), (.220, .860), (.280, .950), (.280, 1)],
        handles=_two("v", .60, 1.05, .12, .05, .020),
        zones=dict(foot=.07, lower=(.09, .22), panel=(.26, .56), shoulder=(.57, .65),
                   neck=(.72, .92), lip=.94)),
    "squat lekythos": dict(
        pts=[(.130, 0), (.135, .030), (.160, .080), (.240, .200), (.270, .320), (.230, .460),
             (.130, .560), (.060, .620), (.045, .700), (.045, .820), (.080, .920), (.070, 1)],
        handles=[("v", 180.0, .55, .78, .06, .02, .014)],
        zones=dict(foot=.05, lower=None, panel=(.12, .46), shoulder=(.48, .58), neck=None,
                   lip=.85)),
    "olpe": dict(
        pts=[(.140, 0), (.145, .030), (.160, .100), (.200, .300), (.210, .500), (.180, .750),
             (.140, .900), (.150, .970), (.150, 1)],
        handles=[("v", 180.0, .55, 1.0, .08, .06, .018)],
        zones=dict(foot=.05, lower=(.07, .18), panel=(.20, .70), shoulder=None, neck=None,
                   lip=.90)),
    "kalpis": dict(
        pts=[(.150, 0), (.155, .025), (.110, .060), (.150, .120), (.240, .280), (.300, .450),
             (.290, .580), (.220, .720), (.140, .820), (.120, .900), (.150, .970), (.150, 1)],
        zones=dict(foot=.06, lower=(.08, .22), panel=(.30, .68), shoulder=None,
                   neck=(.84, .92), lip=.94)),
    "mastoid": dict(
        pts=[(.080, 0), (.090, .030), (.150, .100), (.300, .400), (.400, .700), (.440, 1)],
        zones=dict(foot=.04, lower=(.06, .25), panel=(.35, .85), shoulder=None, neck=None,
                   lip=.93)),
}


def _shape_spec(shape: str) -> tuple[str, dict]:
    """(family, spec) of a shape name; unknown names fall back to the amphora."""
    family = voc.SHAPES.get(shape, shape if shape in _FAMILIES else "amphora")
    spec = dict(_FAMILIES.get(family, _FAMILIES["amphora"]))
    spec.update(_SHAPE_OVERRIDES.get(shape, {}))
    return family, spec
