"""Tool use: tool schemas and user requests with the exact expected call; a response is graded by extracting its
JSON object, validating it against the called tool's schema and comparing it with the truth (see judgeflow.domains)."""

from __future__ import annotations

import json
import random
import re
from collections.abc import Callable

import jsonschema

# ---------------------------------------------------------------------------------------------------------
# Tool use: a catalog of tools, each with a request generator giving (user request, exact arguments).

_CITIES = ["Paris", "Lagos", "Osaka", "Lima", "Oslo", "Denver", "Cairo", "Hanoi", "Quito", "Perth", "Porto"]
_MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December"]
_PEOPLE = ["ana", "bo", "chen", "dara", "eli", "femi", "gia", "hugo"]


def _p(kind: str, description: str, **extra) -> dict:
    return {"type": kind, "description": description, **extra}


def _date(rng: random.Random) -> tuple[str, str]:
    """(spoken form, ISO form) of a random date in 2025-2026."""
    year, month, day = rng.randint(2025, 2026), rng.randint(1, 12), rng.randint(1, 28)
    return f"{_MONTHS[month - 1]} {day}, {year}", f"{year:04d}-{month:02d}-{day:02d}"


def _weather(rng):
    city, args = rng.choice(_CITIES), {}
    args["city"] = city
    text = f"What's the weather going to be in {city}"
    if rng.random() < 0.5:
        args["days"] = rng.randint(2, 7)
        text += f" over the next {args['days']} days"
    if rng.random() < 0.5:
        args["unit"] = rng.choice(["celsius", "fahrenheit"])
        text += f", in {args['unit']}"
    return text + "?", args


def _currency(rng):
    amount = rng.choice([rng.randint(5, 5000), round(rng.uniform(1, 999), 2)])
    src, dst = rng.sample(["USD", "EUR", "JPY", "GBP", "INR", "BRL", "CHF"], 2)
    return f"How much is {amount} {src} in {dst}?", {"amount": amount, "from_currency": src, "to_currency": dst}


def _flight(rng):
    origin, destination = rng.sample(_CITIES, 2)
    spoken, iso = _date(rng)
    args = {"origin": origin, "destination": destination, "date": iso, "passengers": rng.randint(1, 5)}
    text = (f"Book a flight from {origin} to {destination} on {spoken} for {args['passengers']} "
            f"passenger{'s' if args['passengers'] > 1 else ''}")
    if rng.random() < 0.4:
        args["cabin"] = rng.choice(["economy", "premium", "business", "first"])
        text += f" in {args['cabin']} class"
    return text + ".", args


def _reminder(rng):
    message = rng.choice(["call the dentist", "water the plants", "submit the report", "pick up the kids",
                          "take the medicine", "renew the passport"])
    minutes = rng.choice([5, 10, 15, 20, 30, 45, 60, 90, 120])
    args = {"message": message, "minutes_from_now": minutes}
    text = f'Remind me to "{message}" in {minutes} minutes'
    if rng.random() < 0.4:
        args["repeat_daily"] = True
        text += ", and repeat it every day"
    return text + ".", args


def _products(rng):
    query = rng.choice(["wireless earbuds", "running shoes", "desk lamp", "yoga mat", "coffee grinder",
                        "backpack", "mechanical keyboard"])
    args, text = {"query": query}, f'Search the shop for "{query}"'
    if rng.random() < 0.6:
        args["max_price"] = rng.choice([20, 35, 49.99, 80, 120, 250])
        text += f" under {args['max_price']} dollars"
    if rng.random() < 0.5:
        args["in_stock_only"] = True
        text += ", only items in stock"
    if rng.random() < 0.4:
        args["limit"] = rng.randint(3, 20)
        text += f", showing {args['limit']} results"
    return text + ".", args


def _email(rng):
    to = [f"{name}@example.com" for name in rng.sample(_PEOPLE, rng.randint(1, 3))]
    subject = rng.choice(["Quarterly numbers", "Lunch on Friday", "Trip plan", "Project update"])
    body = rng.choice(["See the attached draft.", "Can we move it to noon?", "All tasks are on track.",
                       "Tickets are booked."])
    args = {"to": to, "subject": subject, "body": body}
    text = f'Email {" and ".join(to)} with the subject "{subject}" and the body "{body}"'
    if rng.random() < 0.3:
        args["cc"] = [f"{rng.choice([p for p in _PEOPLE if f'{p}@example.com' not in to])}@example.com"]
        text += f", cc {args['cc'][0]}"
    return text + ".", args


def _event(rng):
    title = rng.choice(["Design review", "Dentist", "Team lunch", "Budget meeting", "Piano lesson"])
    spoken, iso = _date(rng)
    hour, minute = rng.randint(8, 18), rng.choice([0, 15, 30, 45])
    duration = rng.choice([15, 30, 45, 60, 90])
    args = {"title": title, "date": iso, "start_time": f"{hour:02d}:{minute:02d}", "duration_minutes": duration}
    text = f'Put "{title}" on my calendar on {spoken} at {hour:02d}:{minute:02d} for {duration} minutes'
    if rng.random() < 0.4:
        args["attendees"] = sorted(rng.sample(_PEOPLE, 2))
        text += f" with {args['attendees'][0]} and {args['attendees'][1]}"
    return text + ".", args


def _translate(rng):
    phrase = rng.choice(["Where is the train station?", "Thank you for your help.", "The meeting starts at nine.",
                         "I would like a table for two."])
    language = rng.choice(["french", "german", "spanish", "japanese", "swahili"])
    args = {"text": phrase, "target_language": language}
    text = f'Translate "{phrase}" into {language.capitalize()}'
    if rng.random() < 0.4:
        args["formal"] = rng.choice([True, False])
        text += ", formal register" if args["formal"] else ", informal register"
    return text + ".", args


def _stock(rng):
    symbol = rng.choice(["AAPL", "MSFT", "TSLA", "NVDA", "SAP", "TM", "BABA"])
    args, text = {"symbol": symbol}, f"What is the current price of {symbol}"
    if rng.random() < 0.5:
        args["exchange"] = rng.choice(["NASDAQ", "NYSE", "XETRA", "TSE"])
        text += f" on {args['exchange']}"
    return text + "?", args


def _loan(rng):
    principal = rng.choice([5000, 12000, 25000, 180000, 350000])
    rate = rng.choice([2.5, 3.9, 4.25, 5.0, 6.75])
    years = rng.choice([3, 5, 10, 15, 30])
    return (f"What would the monthly payment be on a {principal} dollar loan at {rate}% a year over {years} years?",
            {"principal": principal, "annual_rate_percent": rate, "years": years})


def _restaurants(rng):
    city = rng.choice(_CITIES)
    args, text = {"location": city}, f"Find restaurants in {city}"
    if rng.random() < 0.6:
        args["cuisine"] = rng.choice(["thai", "italian", "ethiopian", "vegan", "sushi"])
        text = f"Find {args['cuisine']} restaurants in {city}"
    if rng.random() < 0.4:
        args["open_now"] = True
        text += " that are open now"
    if rng.random() < 0.4:
        args["max_results"] = rng.randint(2, 10)
        text += f", at most {args['max_results']}"
    return text + ".", args


def _thermostat(rng):
    room = rng.choice(["living room", "bedroom", "office", "kitchen"])
    temperature = rng.choice([18, 19.5, 20, 21, 22.5, 23])
    args = {"room": room, "temperature_c": temperature}
    text = f"Set the {room} to {temperature} degrees Celsius"
    if rng.random() < 0.5:
        args["mode"] = rng.choice(["heat", "cool", "auto"])
        text += f" in {args['mode']} mode"
    return text + ".", args


def _package(rng):
    carrier = rng.choice(["ups", "fedex", "dhl", "usps"])
    number = "".join(rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ0123456789") for _ in range(rng.randint(10, 14)))
    return f"Where is my {carrier.upper()} package {number}?", {"tracking_number": number, "carrier": carrier}


def _order(rng):
    restaurant = rng.choice(["Casa Verde", "Pho 99", "Luigi's", "Spice Route"])
    items = rng.sample(["margherita pizza", "pad thai", "falafel wrap", "miso soup", "green salad", "tacos"],
                       rng.randint(1, 3))
    delivery = rng.choice([True, False])
    return (f"Order {', '.join(items)} from {restaurant} for {'delivery' if delivery else 'pickup'}.",
            {"restaurant": restaurant, "items": items, "delivery": delivery})


def _account(rng):
    user = rng.choice(_PEOPLE) + str(rng.randint(10, 99))
    args = {"username": user, "email": f"{user}@example.org"}
    text = f"Create an account with username {user} and email {user}@example.org"
    if rng.random() < 0.5:
        args["age"] = rng.randint(18, 80)
        text += f"; I am {args['age']} years old"
    if rng.random() < 0.4:
        args["newsletter"] = rng.choice([True, False])
        text += ", and sign me up for the newsletter" if args["newsletter"] else ", and no newsletter please"
    return text + ".", args


_ISO_DATE = "date as YYYY-MM-DD"
_TOOLS: list[tuple[dict, Callable]] = [
    ({"name": "get_weather", "description": "Weather forecast for a city.",
      "properties": {"city": _p("string", "city name"),
                     "days": _p("integer", "number of forecast days", default=1),
                     "unit": _p("string", "temperature unit", enum=["celsius", "fahrenheit"], default="celsius")},
      "required": ["city"]}, _weather),
    ({"name": "convert_currency", "description": "Convert an amount between currencies.",
      "properties": {"amount": _p("number", "amount to convert"),
                     "from_currency": _p("string", "ISO 4217 code of the source currency"),
                     "to_currency": _p("string", "ISO 4217 code of the target currency")},
      "required": ["amount", "from_currency", "to_currency"]}, _currency),
    ({"name": "book_flight", "description": "Book a one-way flight.",
      "properties": {"origin": _p("string", "departure city"), "destination": _p("string", "arrival city"),
                     "date": _p("string", _ISO_DATE), "passengers": _p("integer", "number of passengers"),
                     "cabin": _p("string", "cabin class", enum=["economy", "premium", "business", "first"],
                                 default="economy")},
      "required": ["origin", "destination", "date", "passengers"]}, _flight),
    ({"name": "set_reminder", "description": "Set a reminder.",
      "properties": {"message": _p("string", "what to remind about"),
                     "minutes_from_now": _p("integer", "delay in minutes"),
                     "repeat_daily": _p("boolean", "repeat every day", default=False)},
      "required": ["message", "minutes_from_now"]}, _reminder),
    ({"name": "search_products", "description": "Search the product catalog.",
      "properties": {"query": _p("string", "search terms"), "max_price": _p("number", "price cap in USD"),
                     "in_stock_only": _p("boolean", "only items in stock", default=False),
                     "limit": _p("integer", "number of results", default=10)},
      "required": ["query"]}, _products),
    ({"name": "send_email", "description": "Send an email.",
      "properties": {"to": _p("array", "recipient addresses", items={"type": "string"}),
                     "subject": _p("string", "subject line"), "body": _p("string", "message text"),
                     "cc": _p("array", "copy addresses", items={"type": "string"})},
      "required": ["to", "subject", "body"]}, _email),
    ({"name": "create_calendar_event", "description": "Add an event to the calendar.",
      "properties": {"title": _p("string", "event title"), "date": _p("string", _ISO_DATE),
                     "start_time": _p("string", "24-hour time as HH:MM"),
                     "duration_minutes": _p("integer", "length in minutes"),
                     "attendees": _p("array", "user names of attendees", items={"type": "string"})},
      "required": ["title", "date", "start_time", "duration_minutes"]}, _event),
    ({"name": "translate_text", "description": "Translate text.",
      "properties": {"text": _p("string", "text to translate"),
                     "target_language": _p("string", "language",
                                           enum=["french", "german", "spanish", "japanese", "swahili"]),
                     "formal": _p("boolean", "use the formal register")},
      "required": ["text", "target_language"]}, _translate),
    ({"name": "get_stock_price", "description": "Latest price of a stock.",
      "properties": {"symbol": _p("string", "ticker symbol"),
                     "exchange": _p("string", "exchange", enum=["NASDAQ", "NYSE", "XETRA", "TSE"])},
      "required": ["symbol"]}, _stock),
    ({"name": "calculate_loan_payment", "description": "Monthly payment of an amortized loan.",
      "properties": {"principal": _p("number", "loan amount"),
                     "annual_rate_percent": _p("number", "yearly interest rate in percent"),
                     "years": _p("integer", "loan term in years")},
      "required": ["principal", "annual_rate_percent", "years"]}, _loan),
    ({"name": "find_restaurants", "description": "Find restaurants near a place.",
      "properties": {"location": _p("string", "city or address"), "cuisine": _p("string", "kind of food"),
                     "open_now": _p("boolean", "only places open now", default=False),
                     "max_results": _p("integer", "number of results", default=5)},
      "required": ["location"]}, _restaurants),
    ({"name": "set_thermostat", "description": "Set a room's target temperature.",
      "properties": {"room": _p("string", "room name"), "temperature_c": _p("number", "target in Celsius"),
                     "mode": _p("string", "mode", enum=["heat", "cool", "auto"], default="auto")},
      "required": ["room", "temperature_c"]}, _thermostat),
    ({"name": "track_package", "description": "Status of a parcel.",
      "properties": {"tracking_number": _p("string", "tracking number"),
                     "carrier": _p("string", "carrier", enum=["ups", "fedex", "dhl", "usps"])},
      "required": ["tracking_number", "carrier"]}, _package),
    ({"name": "order_food", "description": "Order food from a restaurant.",
      "properties": {"restaurant": _p("string", "restaurant name"),
                     "items": _p("array", "dishes", items={"type": "string"}),
                     "delivery": _p("boolean", "true for delivery, false for pickup")},
      "required": ["restaurant", "items", "delivery"]}, _order),
    ({"name": "create_account", "description": "Create a user account.",
      "properties": {"username": _p("string", "user name"), "email": _p("string", "email address"),
                     "age": _p("integer", "age in years"),
                     "newsletter": _p("boolean", "subscribe to the newsletter", default=False)},
      "required": ["username", "email"]}, _account),
]
TOOL_NAMES = [spec["name"] for spec, _ in _TOOLS]


def _tool_schema(spec: dict) -> dict:
    return {"name": spec["name"], "description": spec["description"],
            "parameters": {"type": "object", "properties": spec["properties"], "required": spec["required"],
                           "additionalProperties": False}}


def synthetic_tool_use(source: str, num_questions: int, seed: int, tools_per_question: int = 3,
                       tools: list[str] | None = None) -> list[dict]:
    """Function-call questions: the target tool plus distractors, a request, the exact call as truth."""
    names = sorted(tools or TOOL_NAMES)
    unknown = [n for n in names if n not in TOOL_NAMES]
    if unknown:
        raise ValueError(f"source {source!r}: unknown tools {unknown} (known: {sorted(TOOL_NAMES)})")
    if tools_per_question < 1:
        raise ValueError(f"source {source!r}: tools_per_question must be at least 1")
    catalog = {spec["name"]: (spec, make) for spec, make in _TOOLS}
    rng = random.Random(f"{source}:{seed}")
    records = []
    for index in range(num_questions):
        name = rng.choice(names)
        request, arguments = catalog[name][1](rng)
        others = rng.sample([n for n in TOOL_NAMES if n != name], min(tools_per_question - 1, len(TOOL_NAMES) - 1))
        shown = [name] + others
        rng.shuffle(shown)
        schemas = [_tool_schema(catalog[n][0]) for n in shown]
        call = {"name": name, "arguments": arguments}
        question = ("You can call the following tools (each with a JSON schema of its parameters):\n"
                    + "\n".join(json.dumps(schema) for schema in schemas) + f"\n\nUser request: {request}\n\n"
                    'Answer with one function call as a JSON object {"name": <tool name>, "arguments": '
                    "{<parameter>: <value>, ...}}. Give every required parameter, and optional parameters only "
                    "when the request sets them.")
        truth = json.dumps(call, sort_keys=True)
        records.append({
            "id": f"{source}-{index:06d}", "source": source, "kind": "question", "domain": "tool_use",
            "question": question, "answer": truth, "solution": json.dumps(call), "reference": truth,
            "tools": schemas, "request": request, "tool": name,
        })
    return records


TOOL_USE_PROMPT = "{question}\n\nReply with the JSON object only."
_JSON_FENCE = re.compile(r"```(?:json)?[ \t]*\n(.*?)```", re.DOTALL | re.IGNORECASE)
_DECODER = json.JSONDecoder()


def extract_call(text: str) -> tuple[dict | None, str, str | None]:
    """The function call in a response: (call or None, method, error code or None).

    Looks in the last ```json (or bare ```) block when there is one, else in the whole text; the call is the
    first JSON object with both 'name' and 'arguments'. Error codes: 'no_json' (no '{' at all),
    'json_syntax' (the first object does not parse), 'not_a_call' (parses, but is no call).
    """
    blocks = _JSON_FENCE.findall(text)
    body, method = (blocks[-1], "json_block") if blocks else (text, "raw")
    starts = [m.start() for m in re.finditer(r"\{", body)]
    if not starts:
        return None, method, "no_json"
    first_parsed = False
    for position in starts:
        try:
            value, _ = _DECODER.raw_decode(body, position)
        except json.JSONDecodeError:
            continue
        if position == starts[0]:
            first_parsed = True
        if isinstance(value, dict) and "name" in value and "arguments" in value:
            return value, method, None
    return None, method, "not_a_call" if first_parsed else "json_syntax"


_TYPE_NAMES = {str: "string", bool: "boolean", int: "integer", float: "number", list: "array", dict: "object",
               type(None): "null"}


def _same_value(got, want) -> bool:
    if isinstance(want, bool) or isinstance(got, bool):
        return isinstance(got, bool) and isinstance(want, bool) and got == want
    if isinstance(want, (int, float)) and isinstance(got, (int, float)):
        return got == want
    if isinstance(want, str) and isinstance(got, str):
        return " ".join(got.split()).casefold() == " ".join(want.split()).casefold()
    if isinstance(want, list) and isinstance(got, list):
        return len(got) == len(want) and all(_same_value(g, w) for g, w in zip(got, want))
    return got == want


def check_call(call: dict, tools: list[dict], truth: dict) -> tuple[bool, str]:
    """Validate a parsed call against the tool schemas and compare it with the truth: (correct, detail).

    Detail codes, in the order checked: not_a_call, unknown_tool, missing_required, unexpected_parameter,
    wrong_type, invalid_value, wrong_tool, wrong_value; 'ok' when correct. Optional parameters left out
    count as their schema default; strings compare ignoring case and repeated whitespace; numbers by value.
    """
    name, arguments = call.get("name"), call.get("arguments")
    if not isinstance(name, str) or not isinstance(arguments, dict):
        return False, "not_a_call: 'name' must be a string and 'arguments' an object"
    schemas = {tool["name"]: tool["parameters"] for tool in tools}
    if name not in schemas:
        return False, f"unknown_tool: {name!r} is not one of {sorted(schemas)}"
    schema = schemas[name]
    missing = [p for p in schema["required"] if p not in arguments]
    if missing:
        return False, f"missing_required: parameter {missing[0]!r} is required"
    extra = sorted(set(arguments) - set(schema["properties"]))
    if extra:
        return False, f"unexpected_parameter: {extra[0]!r} is not a parameter of {name}"
    errors = sorted(jsonschema.Draft202012Validator(schema).iter_errors(arguments),
                    key=lambda e: ([str(p) for p in e.path], e.validator != "type"))
    for error in errors:
        where = ".".join(str(p) for p in error.path) or "arguments"
        if error.validator == "type":
            got = _TYPE_NAMES.get(type(error.instance), type(error.instance).__name__)
            return False, f"wrong_type: parameter {where!r} must be {error.validator_value}, got {got}"
        return False, f"invalid_value: parameter {where!r}: {error.message}"
    if name != truth["name"]:
        return False, f"wrong_tool: called {name}, the request needs {truth['name']}"
    properties = schema["properties"]
    for parameter in sorted(set(arguments) | set(truth["arguments"])):
        default = properties[parameter].get("default")
        got, want = arguments.get(parameter, default), truth["arguments"].get(parameter, default)
        if not _same_value(got, want):
            return False, f"wrong_value: parameter {parameter!r} is {got!r}, expected {want!r}"
    return True, "ok"


def grade_tool_use(record: dict, text: str) -> dict:
    call, method, error = extract_call(text)
    if call is None:
        return {"extracted": None, "method": method, "correct": False, "detail": error}
    correct, detail = check_call(call, record["tools"], json.loads(record["answer"]))
    return {"extracted": json.dumps(call, sort_keys=True), "method": method, "correct": correct, "detail": detail}
