"""The words of the plan's documents, in English and Spanish, under one template version: the adoption agreement
(every elected provision, for the sponsor to sign), the summary plan description (ERISA 102, 29 CFR 2520.102-3,
written for employees), and the safe-harbor notice (1.401(k)-3(d)).

A document is a pure function of the provisions and TEMPLATE_VERSION: change a sentence here and bump the version,
so a stored document's hash can still be reproduced from what it says it was made from. The Spanish texts sit next
to the English ones on purpose: a legal template is reviewed and versioned as a whole, in both languages at once."""
from datetime import date
from decimal import Decimal

from backend.plans import vesting as vesting_rules

TEMPLATE_VERSION = "2026.1"
LANGUAGES = ("en", "es")

_MONTHS = {"en": ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
                  "November", "December"),
           "es": ("enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre", "octubre",
                  "noviembre", "diciembre")}

W = {
    "en": {
        "adoption_agreement": "Adoption Agreement",
        "summary_plan_description": "Summary Plan Description",
        "safe_harbor_notice": "Safe Harbor Notice",
        "version": "Version {version}, template {template}.",
        "sponsor": "Plan sponsor (employer): {name}, EIN {ein}, {address}.",
        "trustee": "Trustee: {name}, the employer acting as trustee of the plan's trust until it appoints another.",
        "effective": "Effective date of the plan: {day}.",
        "plan_year": "Plan year: twelve months beginning {start} each year.",
        "h_eligibility": "Eligibility and entry dates",
        "eligibility": "An employee becomes eligible at age {age} after {service} of service (IRC 410(a)).",
        "service_none": "no minimum period",
        "service_months": "{months} months",
        "service_year": "one year (12 months with 1,000 hours)",
        "entry": "Entry date: {entry}.",
        "entry_immediate": "immediately upon meeting the conditions",
        "entry_monthly": "the first day of the month after meeting the conditions",
        "entry_quarterly": "the first day of the plan-year quarter after meeting the conditions",
        "entry_semi_annual": "the first day of the plan year or the first day of its seventh month, whichever "
                             "follows meeting the conditions",
        "ltpt_yes": "Long-term part-time employees (two consecutive years of 500 or more hours) may defer "
                    "(IRC 401(k)(15)).",
        "ltpt_no": "Long-term part-time coverage applies only as the law requires.",
        "h_auto": "Automatic enrollment and escalation",
        "auto_on": "Eligible employees are enrolled automatically at {rate}% of pay unless they choose otherwise, "
                   "after {notice} days' notice (IRC 414A, 414(w)).",
        "auto_escalate": "The rate rises by {step} percentage point(s) each plan year up to {cap}% of pay.",
        "auto_no_escalate": "The automatic rate does not escalate.",
        "auto_window": "An automatically enrolled employee may withdraw their deferrals within {days} days of the "
                       "first one (permissible withdrawal, IRC 414(w)(2)).",
        "auto_off": "Automatic enrollment: not elected.",
        "h_match": "Matching contributions",
        "match_tier": "{rate}% of deferrals from {low}% to {high}% of pay.",
        "match_none": "Matching contributions: none.",
        "h_safe_harbor": "Safe harbor",
        "safe_harbor_none": "Safe harbor: not elected; the plan is tested under IRC 401(k)(3) and 401(m)(2).",
        "safe_harbor_basic_match": "Safe harbor basic match: 100% of the first 3% of pay deferred and 50% of the "
                                   "next 2% (IRC 401(k)(12)(B)).",
        "safe_harbor_enhanced_match": "Safe harbor enhanced match, at least the basic match at every rate "
                                      "(IRC 401(k)(12)(B)(iii)).",
        "safe_harbor_nonelective": "Safe harbor nonelective contribution of 3% of pay (IRC 401(k)(12)(C)).",
        "safe_harbor_qaca_match": "Qualified automatic contribution arrangement match: 100% of the first 1% and "
                                  "50% of the next 5% (IRC 401(k)(13)(D)).",
        "safe_harbor_qaca_nonelective": "Qualified automatic contribution arrangement nonelective contribution of 3% "
                                        "of pay (IRC 401(k)(13)(D)).",
        "h_vesting": "Vesting",
        "vesting_employee": "Deferrals, Roth and rollover money are always 100% vested (IRC 411(a)(1)).",
        "vesting_source": "{source}: {schedule}.",
        "vesting_step": "{percent}% after {years} year(s)",
        "vesting_none": "No employer contribution source has a vesting schedule.",
        "employer_match": "Employer matching contributions",
        "nonelective": "Employer nonelective contributions",
        "profit_sharing": "Profit sharing contributions",
        "h_options": "Roth, catch-up, loans and hardship",
        "roth_yes": "Roth deferrals: offered (IRC 402A).",
        "roth_no": "Roth deferrals: not offered.",
        "catch_up_yes": "Catch-up contributions at age 50 and over: offered (IRC 414(v)).",
        "catch_up_no": "Catch-up contributions: not offered.",
        "loans_yes": "Loans: offered (IRC 72(p)).",
        "loans_no": "Loans: not offered.",
        "hardship_yes": "Hardship withdrawals: offered (Treas. Reg. 1.401(k)-1(d)(3)).",
        "hardship_no": "Hardship withdrawals: not offered.",
        "default_fund": "Default investment (QDIA): {name} ({ticker}).",
        "h_amendment": "Amendment",
        "amendment": "This version amends the plan effective {day}. Provisions changed:",
        "aa_intro": "The employer named below adopts this plan with the provisions elected here.",
        "spd_intro": "This summary explains in plain words how your employer's 401(k) plan works. The plan document "
                     "governs if the two differ.",
        "spd_rights": "As a participant you have rights under ERISA, including to examine plan documents and to "
                      "receive a copy of this summary.",
        "h_signature": "Signature",
        "signature": "Signed electronically by {name}, {title}, on {at} from {ip} ({agent}).",
        "consent": "The signer consented to conduct this transaction by electronic records (E-SIGN Act, 15 U.S.C. "
                   "7001).",
        "hash": "SHA-256 of the document signed: {sha}",
        "notice_intro": "Safe harbor notice for the plan year {start} to {end}.",
        "notice_deadline": "This notice is given no later than {deadline} and no earlier than {opens} (Treas. Reg. "
                           "1.401(k)-3(d)(3)).",
        "notice_change": "You may change or start your deferral election at any time through the Plumb app.",
        "provision_match_tiers": "matching contribution formula",
        "provision_roth_allowed": "Roth deferrals",
        "provision_loans_allowed": "loans",
        "provision_hardship_allowed": "hardship withdrawals",
        "provision_other": "{key}",
    },
    "es": {
        "adoption_agreement": "Acuerdo de Adopción",
        "summary_plan_description": "Descripción Resumida del Plan",
        "safe_harbor_notice": "Aviso de Puerto Seguro",
        "version": "Versión {version}, plantilla {template}.",
        "sponsor": "Patrocinador del plan (empleador): {name}, EIN {ein}, {address}.",
        "trustee": "Fiduciario: {name}, el empleador como fiduciario del fideicomiso del plan hasta que nombre a otro.",
        "effective": "Fecha de vigencia del plan: {day}.",
        "plan_year": "Año del plan: doce meses que comienzan el {start} de cada año.",
        "h_eligibility": "Elegibilidad y fechas de ingreso",
        "eligibility": "Un empleado es elegible a los {age} años de edad después de {service} de servicio "
                       "(IRC 410(a)).",
        "service_none": "ningún período mínimo",
        "service_months": "{months} meses",
        "service_year": "un año (12 meses con 1,000 horas)",
        "entry": "Fecha de ingreso: {entry}.",
        "entry_immediate": "de inmediato al cumplir las condiciones",
        "entry_monthly": "el primer día del mes siguiente a cumplir las condiciones",
        "entry_quarterly": "el primer día del trimestre del año del plan siguiente a cumplir las condiciones",
        "entry_semi_annual": "el primer día del año del plan o el primer día de su séptimo mes, lo que siga a cumplir "
                             "las condiciones",
        "ltpt_yes": "Los empleados de medio tiempo de largo plazo (dos años seguidos con 500 horas o más) pueden "
                    "aportar (IRC 401(k)(15)).",
        "ltpt_no": "La cobertura de medio tiempo de largo plazo se aplica solo según lo exige la ley.",
        "h_auto": "Inscripción y aumento automáticos",
        "auto_on": "Los empleados elegibles se inscriben automáticamente al {rate}% del pago salvo que elijan otra "
                   "cosa, con {notice} días de aviso (IRC 414A, 414(w)).",
        "auto_escalate": "La tasa sube {step} punto(s) porcentual(es) cada año del plan hasta el {cap}% del pago.",
        "auto_no_escalate": "La tasa automática no aumenta.",
        "auto_window": "Un empleado inscrito automáticamente puede retirar sus aportaciones dentro de {days} días de "
                       "la primera (retiro permitido, IRC 414(w)(2)).",
        "auto_off": "Inscripción automática: no elegida.",
        "h_match": "Aportaciones equivalentes",
        "match_tier": "{rate}% de las aportaciones del {low}% al {high}% del pago.",
        "match_none": "Aportaciones equivalentes: ninguna.",
        "h_safe_harbor": "Puerto seguro",
        "safe_harbor_none": "Puerto seguro: no elegido; el plan se prueba según IRC 401(k)(3) y 401(m)(2).",
        "safe_harbor_basic_match": "Aportación equivalente básica de puerto seguro: 100% del primer 3% del pago "
                                   "aportado y 50% del siguiente 2% (IRC 401(k)(12)(B)).",
        "safe_harbor_enhanced_match": "Aportación equivalente mejorada de puerto seguro, al menos la básica en cada "
                                      "tasa (IRC 401(k)(12)(B)(iii)).",
        "safe_harbor_nonelective": "Aportación no electiva de puerto seguro del 3% del pago (IRC 401(k)(12)(C)).",
        "safe_harbor_qaca_match": "Aportación equivalente de un acuerdo calificado de aportación automática: 100% del "
                                  "primer 1% y 50% del siguiente 5% (IRC 401(k)(13)(D)).",
        "safe_harbor_qaca_nonelective": "Aportación no electiva de un acuerdo calificado de aportación automática del "
                                        "3% del pago (IRC 401(k)(13)(D)).",
        "h_vesting": "Derechos adquiridos",
        "vesting_employee": "Sus aportaciones, el dinero Roth y las transferencias son siempre 100% suyos "
                            "(IRC 411(a)(1)).",
        "vesting_source": "{source}: {schedule}.",
        "vesting_step": "{percent}% después de {years} año(s)",
        "vesting_none": "Ninguna aportación del empleador tiene un calendario de derechos adquiridos.",
        "employer_match": "Aportaciones equivalentes del empleador",
        "nonelective": "Aportaciones no electivas del empleador",
        "profit_sharing": "Aportaciones de participación en las ganancias",
        "h_options": "Roth, aportaciones de recuperación, préstamos y dificultades",
        "roth_yes": "Aportaciones Roth: ofrecidas (IRC 402A).",
        "roth_no": "Aportaciones Roth: no ofrecidas.",
        "catch_up_yes": "Aportaciones de recuperación a partir de los 50 años: ofrecidas (IRC 414(v)).",
        "catch_up_no": "Aportaciones de recuperación: no ofrecidas.",
        "loans_yes": "Préstamos: ofrecidos (IRC 72(p)).",
        "loans_no": "Préstamos: no ofrecidos.",
        "hardship_yes": "Retiros por dificultades económicas: ofrecidos (Treas. Reg. 1.401(k)-1(d)(3)).",
        "hardship_no": "Retiros por dificultades económicas: no ofrecidos.",
        "default_fund": "Inversión predeterminada (QDIA): {name} ({ticker}).",
        "h_amendment": "Enmienda",
        "amendment": "Esta versión enmienda el plan a partir del {day}. Disposiciones cambiadas:",
        "aa_intro": "El empleador nombrado abajo adopta este plan con las disposiciones elegidas aquí.",
        "spd_intro": "Este resumen explica en palabras sencillas cómo funciona el plan 401(k) de su empleador. Si "
                     "difieren, rige el documento del plan.",
        "spd_rights": "Como participante usted tiene derechos bajo ERISA, entre ellos examinar los documentos del plan "
                      "y recibir una copia de este resumen.",
        "h_signature": "Firma",
        "signature": "Firmado electrónicamente por {name}, {title}, el {at} desde {ip} ({agent}).",
        "consent": "El firmante aceptó realizar esta transacción con registros electrónicos (Ley E-SIGN, 15 U.S.C. "
                   "7001).",
        "hash": "SHA-256 del documento firmado: {sha}",
        "notice_intro": "Aviso de puerto seguro para el año del plan del {start} al {end}.",
        "notice_deadline": "Este aviso se entrega a más tardar el {deadline} y no antes del {opens} (Treas. Reg. "
                           "1.401(k)-3(d)(3)).",
        "notice_change": "Puede cambiar o comenzar su elección de aportación en cualquier momento en la app Plumb.",
        "provision_match_tiers": "fórmula de aportación equivalente",
        "provision_roth_allowed": "aportaciones Roth",
        "provision_loans_allowed": "préstamos",
        "provision_hardship_allowed": "retiros por dificultades económicas",
        "provision_other": "{key}",
    },
}


def words(language: str) -> dict:
    return W[language if language in W else "en"]


def long_date(day: date | str, language: str) -> str:
    day = date.fromisoformat(day) if isinstance(day, str) else day
    month = _MONTHS[language][day.month - 1]
    return f"{month} {day.day}, {day.year}" if language == "en" else f"{day.day} de {month} de {day.year}"


def month_day(text: str, language: str) -> str:
    month, day = (int(part) for part in text.split("-"))
    name = _MONTHS[language][month - 1]
    return f"{name} {day}" if language == "en" else f"{day} de {name}"


def provision_label(key: str, language: str) -> str:
    w = words(language)
    return w.get(f"provision_{key}") or w["provision_other"].format(key=key.replace("_", " "))


def provision_lines(p: dict, language: str) -> list[tuple[str, list[str]]]:
    """The elected provisions as (heading, sentences), in the order every document lists them."""
    w = words(language)
    e, auto = p["eligibility"], p["auto_enrollment"]
    service = (w["service_none"] if not e["service_months"] else w["service_year"] if e["service_months"] == 12
               else w["service_months"].format(months=e["service_months"]))
    sections = [
        ("", [w["sponsor"].format(**p["sponsor"]), w["trustee"].format(name=p["trustee"]["name"]),
              w["effective"].format(day=long_date(p["plan"]["effective_date"], language)),
              w["plan_year"].format(start=month_day(p["plan_year_start"], language))]),
        (w["h_eligibility"], [w["eligibility"].format(age=e["min_age"], service=service),
                              w["entry"].format(entry=w[f"entry_{e['entry_frequency']}"]),
                              w["ltpt_yes" if e["long_term_part_time"] else "ltpt_no"]]),
    ]
    if auto["enabled"]:
        step = Decimal(auto["escalation_step_percent"] or 0)
        auto_lines = [w["auto_on"].format(rate=auto["default_percent"], notice=auto["notice_days"]),
                      w["auto_escalate"].format(step=auto["escalation_step_percent"], cap=auto["escalation_cap_percent"])
                      if step > 0 else w["auto_no_escalate"],
                      w["auto_window"].format(days=auto["opt_out_window_days"])]
    else:
        auto_lines = [w["auto_off"]]
    sections.append((w["h_auto"], auto_lines))
    sections.append((w["h_match"], [w["match_tier"].format(rate=t["match_rate_percent"], low=t["deferral_from_percent"],
                                                           high=t["deferral_to_percent"]) for t in p["match_tiers"]]
                     or [w["match_none"]]))
    sections.append((w["h_safe_harbor"], [w[f"safe_harbor_{p['safe_harbor']}"]]))
    vesting = [w["vesting_employee"]]
    for source, value in p["vesting"].items():
        schedule = vesting_rules.schedule_of(value) or {}
        steps = ", ".join(w["vesting_step"].format(percent=_plain(percent), years=years)
                          for years, percent in sorted(schedule.items()))
        vesting.append(w["vesting_source"].format(source=w.get(source, source), schedule=steps))
    if not p["vesting"]:
        vesting.append(w["vesting_none"])
    sections.append((w["h_vesting"], vesting))
    options = [w["roth_yes" if p["roth_allowed"] else "roth_no"],
               w["catch_up_yes" if p["catch_up_allowed"] else "catch_up_no"],
               w["loans_yes" if p["loans_allowed"] else "loans_no"],
               w["hardship_yes" if p["hardship_allowed"] else "hardship_no"]]
    if p["default_fund"]:
        options.append(w["default_fund"].format(**p["default_fund"]))
    sections.append((w["h_options"], options))
    return sections


def _plain(percent) -> str:
    text = format(Decimal(percent).normalize(), "f")
    return text
