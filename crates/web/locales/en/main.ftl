## Shared layout
site-name = sohoa
site-tagline = Ho Chi Minh City digital government platform
skip-to-content = Skip to main content
nav-home = Home
nav-units = Administrative units
nav-agencies = Agencies
nav-api = API
lang-switch = Tiếng Việt
lang-switch-label = Switch to Vietnamese
footer-text = sohoa is open-source software. Times are shown in Viet Nam time (UTC+7).
footer-openapi = OpenAPI document

## Home
home-title = Digital government for residents
home-lead = Look up the city's administrative units and agencies. Residents give each piece of information once: what the city already knows, they never type again.
home-stat-units = { $count } commune-level units in force
home-stat-agencies = { $count } agencies
home-units-link = See the 168 wards, communes and special zone
home-agencies-link = See the agencies
home-reform-note = Since 1 July 2025, Ho Chi Minh City has merged with Bình Dương and Bà Rịa – Vũng Tàu, and the district level is gone. An old unit code may equal a new one: choose a date when you look a unit up.

## Administrative units
units-title = Administrative units
units-lead = Units in force on the chosen day.
units-search-label = Search by name or code (with or without diacritics)
units-kind-label = Kind of unit
units-kind-any = All
units-as-of-label = In force on
units-submit = Search
units-count = { $count } units
units-empty = No unit found.
units-col-code = Code
units-col-name = Name
units-col-kind = Kind
units-col-parent = Part of
units-col-valid = Validity
unit-title = { $name }
unit-code = Unit code
unit-kind = Kind
unit-parent = Part of
unit-valid-from = In force from
unit-valid-to = No longer in force from
unit-valid-open = —
unit-before-records = before the records began
unit-history-title = Units that have had the code { $code }
unit-history-note = One code may name two different units before and after 1 July 2025.

kind-municipality = Centrally-run city
kind-province = Province
kind-urban_district = Urban district
kind-rural_district = Rural district
kind-district_city = City under a province or city
kind-town = Town
kind-ward = Ward
kind-commune = Commune
kind-township = Township
kind-special_zone = Special zone

## Agencies
agencies-title = Agencies
agencies-lead = The city's departments and the People's Committees of wards, communes and the special zone.
agencies-search-label = Search agencies
agencies-count = { $count } agencies
agencies-empty = No agency yet.
agencies-col-code = Code
agencies-col-name = Name
agencies-col-level = Level
agencies-col-unit = Area
level-city = City
level-commune = Commune level

## Pagination
pager-label = Pagination
pager-prev = Previous page
pager-next = Next page
pager-status = Page { $page } of { $last }

## API documentation
apidocs-title = API documentation
apidocs-lead = Every JSON API of sohoa is described in an OpenAPI 3.1 document that works with standard tools.
apidocs-download = Download the OpenAPI document (JSON)
apidocs-col-method = Method
apidocs-col-path = Path
apidocs-col-summary = Summary

## Error page
error-page-title = Something went wrong
error-page-back = Back to the home page
error-page-code = Error code: { $code }

## Error messages (API and pages)
error-invalid-json = The request body is not valid JSON. Check brackets, commas and quotes.
error-invalid-body = The request body lacks a required field or has a field of the wrong type.
error-unsupported-media-type = Send the body with Content-Type: application/json.
error-payload-too-large = The request body is too large (at most { $limit } bytes).
error-invalid-query = A query parameter is not valid: { $detail }
error-invalid-page = The page must be 1 or more and the page size between 1 and 200.
error-invalid-date = The date is not valid. Use the form YYYY-MM-DD, for example 2025-07-01.
error-invalid-unit-code = An administrative unit code has 2, 3 or 5 digits.
error-invalid-unit-kind = This kind of unit does not exist.
error-unit-not-found = No administrative unit had this code on the chosen day.
error-unknown-unit = Administrative unit { $code } is not in force today.
error-invalid-agency-code = An agency code has 2–40 characters: upper-case letters without diacritics, digits or hyphens.
error-invalid-agency-name = An agency name has 1 to 200 characters.
error-agency-level-mismatch = A city-level agency belongs to unit 79; a commune-level agency belongs to a ward, commune or special zone.
error-agency-not-found = This agency was not found.
error-agency-exists = An agency with this code already exists.
error-unauthenticated = Sign in or present a valid access token.
error-forbidden = You are not allowed to do this.
error-admin-disabled = Administration is not enabled on this server (no admin token is configured).
error-not-found = This page or resource was not found.
error-method-not-allowed = This HTTP method is not supported at this path.
error-timeout = The server took too long. Try again in a few minutes.
error-database-unavailable = The database is temporarily unavailable. Try again in a few minutes.
error-internal = Something went wrong on the server. It has been logged; try again later.
error-unknown-agency = The agency is not recognised: present a valid agency API key (Authorization: Bearer ...).
error-invalid-purpose = State the legal purpose: 3–64 lower-case letters without diacritics, digits, hyphens or underscores (for example: building-permit).
error-invalid-field = Field { $field } is not a field of this registry.
error-invalid-legal-basis = State the legal basis in 1 to 300 characters.
error-no-grant = The agency holds no grant to read this data for the stated purpose. This attempt has been logged.
error-field-not-granted = The agency holds no grant to read field { $field } for the stated purpose. This attempt has been logged.
error-record-not-found = No record with this identifier is in the registry. This look-up has been logged.
error-invalid-citizen-id = A CCCD has 12 digits, starting with the code of the province where the birth was registered.
error-invalid-tax-code = A tax code has 10 digits (or 10 digits, a hyphen and 3 digits for a branch) with a correct check digit.
error-key-not-found = No live API key has this identifier.
error-grant-not-found = No live grant has this identifier.
error-invalid-credentials = The CCCD (or username) or the password is wrong.
error-account-locked = The account is locked after repeated failed sign-ins. Try again in 15 minutes.
error-unknown-citizen = No citizen with this CCCD is in the population registry.
error-invalid-password = A password has 10 to 128 characters.
error-account-exists = This citizen already has an account.
error-invalid-parcel-key = A parcel key is unit code-map sheet-parcel number, for example 26743-12-345.
error-invalid-valid-until = The consent must end at a future time at most a year ahead (required unless it is for one read).
error-consent-not-found = This consent is not among yours.
error-rate-limited = Too many requests in a short time. Try again in { $seconds } seconds.
error-csrf-failed = The form has expired or was not sent from this site's page. Reload the page and send it again.
error-invalid-username = A username has 3–32 characters: lower-case letters without diacritics, digits, dots, hyphens or underscores, starting with a letter.
error-invalid-display-name = A display name has 1 to 200 characters.
error-invalid-role = The role must be one of: officer, leader, auditor, agency_admin, city_admin, digital_team.
error-role-scope = The scope does not fit the role: officers and agency administrators belong to an agency; city administrators belong to none; a community digital team belongs to a ward or commune.
error-staff-exists = This username is taken.
error-staff-not-found = No active staff account has this username.
