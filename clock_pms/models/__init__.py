from . import clock_room_type
from . import clock_guarantee_policy
from . import clock_folio
from . import clock_folio_line
from . import clock_reservation
from . import clock_request_budget
