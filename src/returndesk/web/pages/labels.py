"""Catalogue labels for the domain's codes (statuses, reasons, resolutions, errors).

The strings are marked with N_ so `pybabel extract` finds them; pages translate them at render.
"""

from __future__ import annotations


def N_(message: str) -> str:  # noqa: N802 - the gettext convention for "mark, don't translate"
    return message


STATUS = {
    "requested": N_("Requested"),
    "under_review": N_("Under review"),
    "needs_evidence": N_("Needs more information"),
    "escalated": N_("Escalated"),
    "approved": N_("Approved"),
    "declined": N_("Declined"),
    "awaiting_return": N_("Waiting for your parcel"),
    "in_transit": N_("Parcel on its way"),
    "partially_received": N_("Partly received"),
    "received": N_("Received"),
    "inspected": N_("Inspected"),
    "refund_pending": N_("Refund on its way"),
    "refunded": N_("Refunded"),
    "exchange_shipped": N_("Replacement shipped"),
    "resolved_without_return": N_("Resolved without a return"),
    "closed": N_("Closed"),
    "canceled": N_("Canceled"),
}

# The console speaks of the same statuses from the store's side.
STAFF_STATUS = {
    **STATUS,
    "needs_evidence": N_("Waiting for buyer"),
    "awaiting_return": N_("Awaiting return parcel"),
    "in_transit": N_("Return in transit"),
    "refund_pending": N_("Refund pending"),
}

# What the buyer sees next to the status: what happens now.
NEXT_STEP = {
    "requested": N_("We have your request and will review it shortly."),
    "under_review": N_("Our team is reviewing your request."),
    "needs_evidence": N_("We need a little more information from you: please check your email."),
    "escalated": N_("A senior member of our team is looking at your request."),
    "approved": N_("Your return is approved. We will tell you what to do next."),
    "awaiting_return": N_("Please pack the item and send it back as instructed in our email."),
    "in_transit": N_("Your parcel is on its way to us."),
    "partially_received": N_("Part of your return has arrived; we are waiting for the rest."),
    "received": N_("Your parcel has arrived and will be checked soon."),
    "inspected": N_("We have checked your item and will complete the return soon."),
    "refund_pending": N_("Your refund has been approved and is on its way."),
    "refunded": N_("Your refund has been issued."),
    "exchange_shipped": N_("Your replacement is on its way."),
}

REASON_GROUPS = {
    "preference": N_("I changed my mind or it doesn't fit"),
    "not_as_expected": N_("It is not what I expected"),
    "damaged_or_faulty": N_("It is damaged or doesn't work"),
    "delivery_problem": N_("A problem with the delivery"),
    "other": N_("Something else"),
}

REASONS = {
    "changed_mind": N_("I changed my mind"),
    "wrong_size": N_("Wrong size or fit"),
    "not_as_described": N_("Not as described"),
    "color_differs": N_("The colour differs from the photos"),
    "damaged_in_transit": N_("Damaged in transit"),
    "defective": N_("Defective or doesn't work"),
    "wrong_item": N_("I received the wrong item"),
    "missing_parts": N_("Parts or accessories are missing"),
    "not_received": N_("I never received it"),
    "arrived_late": N_("It arrived too late"),
    "counterfeit_suspected": N_("I think it is not genuine"),
    "other": N_("Other reason"),
}

RESOLUTIONS = {
    "refund": N_("Refund to my payment method"),
    "exchange": N_("Exchange for another size or item"),
    "store_credit": N_("Store credit"),
    "repair": N_("Repair or help me get it working"),
}

CONDITIONS = {
    "intact": N_("Intact"),
    "damaged": N_("Damaged"),
    "wrong_item": N_("Wrong item"),
    "empty_box": N_("Empty box"),
    "counterfeit_suspected": N_("Counterfeit suspected"),
}

# Warehouse grades and dispositions (domain/logistics.py).
GRADES = {
    "resellable": N_("Resellable"),
    "open_box": N_("Open box"),
    "damaged": N_("Damaged"),
    "wrong_item": N_("Wrong item"),
    "empty_box": N_("Empty box"),
    "counterfeit_suspected": N_("Counterfeit suspected"),
}
DISPOSITIONS = {
    "restock": N_("Restock"),
    "refurbish": N_("Refurbish"),
    "liquidate": N_("Liquidate"),
    "dispose": N_("Dispose"),
    "return_to_buyer": N_("Send back to the buyer"),
    "hold": N_("Hold (evidence)"),
}
RETURN_METHODS = {
    "local": N_("Local return address"),
    "origin": N_("Back to the origin warehouse"),
    "keep": N_("Keep the item (no return)"),
    "drop_off": N_("Drop-off with a QR code (no label to print)"),
}
REFUND_STATUSES = {
    "pending": N_("Being processed"),
    "succeeded": N_("Paid"),
    "failed": N_("Failed"),
}
CARRIER_STATUSES = {
    "label_created": N_("Label created"),
    "accepted": N_("Handed to the carrier"),
    "in_transit": N_("On its way"),
    "out_for_delivery": N_("Out for delivery"),
    "delivered": N_("Delivered to the return address"),
    "exception": N_("Delivery problem"),
    "returned_to_sender": N_("Sent back to the sender"),
}
TOKEN_SCOPES = {"carrier_events": N_("Report return parcels' carrier scans")}
REFUND_MODES = {
    "manual": N_("Recorded by hand"),
    "stripe": N_("Stripe"),
    "shopify": N_("Shopify"),
}
# The built-in inspection checklist items (domain/inspection.py); a store's own are shown as
# written.
INSPECTION_CHECKS = {
    "matches_order": N_("Matches the order (product, size, colour)"),
    "packaging_intact": N_("Packaging intact"),
    "powers_on": N_("Powers on and works"),
    "serial_matches": N_("Serial number matches the order"),
    "accessories_complete": N_("All accessories and cables"),
    "no_liquid_damage": N_("No liquid damage"),
    "no_scratches": N_("No scratches or dents"),
    "tags_attached": N_("Tags attached"),
    "unworn_unwashed": N_("Unworn and unwashed"),
    "no_stains_or_odour": N_("No stains or odour"),
    "soles_unworn": N_("Soles unworn"),
    "original_box": N_("In the original box"),
    "seal_intact": N_("Seal intact"),
    "parts_complete": N_("All parts present"),
    "no_chips_or_cracks": N_("No chips or cracks"),
}
EXCHANGE_CHANNELS = {"export": N_("ordered by hand (export)"), "shopify": N_("Shopify")}
EXCHANGE_STATUSES = {
    "pending": N_("Being processed"),
    "to_ship": N_("To be ordered by hand"),
    "ordered": N_("Replacement ordered"),
    "failed": N_("Failed"),
}
HOLD_STATUSES = {
    "none": N_("No hold"),
    "pending": N_("Being placed"),
    "authorised": N_("Held on the card"),
    "released": N_("Released"),
    "captured": N_("Charged"),
    "failed": N_("Refused"),
}
WAREHOUSE_MESSAGES = {
    "camera": N_("Scan with the camera"),
    "stop": N_("Stop the camera"),
    "no_camera": N_("No camera available: type or scan the code instead."),
    "looking": N_("Point the camera at the label's barcode or QR code."),
}

EVENT_KINDS = {
    "case_opened": N_("Return requested"),
    "status_changed": N_("Status changed"),
    "decision_made": N_("Decision"),
    "decision_overridden": N_("Decision overridden"),
    "evidence_added": N_("Evidence added"),
    "evidence_hold_placed": N_("Legal hold placed on the evidence"),
    "evidence_hold_released": N_("Legal hold released"),
    "evidence_erased": N_("Evidence files erased"),
    "assigned": N_("Assigned"),
    "sla_warning": N_("Service level due soon"),
    "sla_breached": N_("Service level missed"),
    "call_started": N_("Video call started"),
    "call_consent": N_("Answer about recording the call"),
    "call_ended": N_("Video call ended"),
    "call_booking_offered": N_("Invited to book a video call"),
    "call_booked": N_("Video call booked"),
    "call_booking_cancelled": N_("Booked video call cancelled"),
    "call_reminder": N_("Reminder of the booked video call"),
    "call_missed": N_("Booked video call did not take place"),
    "parcel_scanned": N_("Parcel scanned by the carrier"),
    "parcel_sent": N_("Parcel sent"),
    "return_reminder": N_("Reminder: the parcel is not sent yet"),
    "return_expired": N_("Not sent in time"),
    "refund_executed": N_("Refund paid"),
    "refund_failed": N_("Refund failed"),
    "exchange_ordered": N_("Replacement ordered"),
    "exchange_hold_placed": N_("Amount held on your card until the parcel is scanned"),
    "exchange_hold_released": N_("Card hold released"),
    "exchange_hold_captured": N_("Card hold charged for the replacement"),
    "exchange_failed": N_("Exchange step failed"),
}

# Service-level clocks (domain/sla.py).
SLA_CLOCKS = {
    "first_response": N_("First response"),
    "next_response": N_("Next response"),
    "resolution": N_("Resolution"),
}

# How routing chose who handles a case (domain/teams.py).
ROUTING_RULES = {
    "rule": N_("routed by a routing rule"),
    "agent": N_("routed to an online agent"),
    "skill": N_("routed to an online agent with the skill this return needs"),
    "team_queue": N_("no agent free: in the team's queue"),
    "any_team": N_("no team speaks the language: in the queue of the next team on shift"),
    "unassigned": N_("no team"),
    "manual": N_("assigned by a supervisor"),
}

# What the dashboard groups returns by (services/ports.STAT_DIMENSIONS).
STAT_DIMENSIONS = {
    "reason": N_("Reason"),
    "sku": N_("Product"),
    "market": N_("Market"),
    "language": N_("Language"),
    "status": N_("Status"),
    "carrier": N_("Carrier"),
    "team": N_("Team"),
    "outcome": N_("Decision"),
    "resolution": N_("Wished resolution"),
    "day": N_("Day"),
}

PRESENCE = {
    "online": N_("Online"),
    "away": N_("Away"),
    "offline": N_("Offline"),
}

SKILLS = {
    "returns": N_("Returns"),
    "electronics_howto": N_("Electronics how-to"),
    "video_inspection": N_("Video inspection"),
    "fraud": N_("Fraud review"),
    "warehouse": N_("Warehouse"),
}

# Who added evidence, as buyers read it (staff names stay internal, as on the timeline).
CAPTURERS = {
    "staff": N_("The store's team"),
}

# A returned item's photo against the product's reference photo.
APPEARANCE = {
    "match": N_("Looks like the product shipped"),
    "inconclusive": N_("Cannot tell"),
    "mismatch": N_("Does not look like the product shipped"),
}

# What a photo's quality check found (shown on the item).
PHOTO_QUALITY = {
    "too_dark": N_("Too dark"),
    "too_bright": N_("Overexposed"),
    "blurred": N_("Blurred"),
}

EVIDENCE_KINDS = {
    "photo": N_("Photo"),
    "video": N_("Video"),
    "document": N_("Document"),
}

# What the live recorder on a case page says as it goes.
RECORDER_MESSAGES = {
    "starting": N_("Starting the camera…"),
    "recording": N_("Recording. Press Stop when you are done."),
    "finishing": N_("Saving the video…"),
    "done": N_("Saved. It is now part of this case's evidence."),
    "done_live": N_("Saved and marked as recorded live."),
    "camera_denied": N_(
        "The camera is blocked. Allow camera access for this site in your browser, then try again."
    ),
    "no_camera": N_("No camera was found on this device."),
    "unsupported": N_("This browser cannot record video here. Upload a video file instead."),
    "generic": N_("The recording did not work. Please try again."),
    "network": N_("The connection dropped while recording. Please record the video again."),
    "invalid_video": N_("The video cannot be played or is cut short. Please record it again."),
    "missing_chunks": N_("Part of the video did not arrive. Please record it again."),
    "case_closed": N_("This return is closed and takes no more evidence."),
    "unauthenticated": N_("Your session has ended. Please sign in again."),
}

# The video call page (static/call.js): everything it may say, in the person's language.
CALL_MESSAGES = {
    "ready": N_("Check your camera, then press Join to enter the call."),
    "joining": N_("Joining the call…"),
    "peer_lobby": N_("about to join"),
    "waiting_agent": N_("Your agent is on the way. Please stay on this page."),
    "waiting_buyer": N_("Waiting for the buyer to join."),
    "waiting_others": N_("Waiting for the others to join."),
    "connecting": N_("Connecting…"),
    "connected": N_("Connected."),
    "reconnecting": N_("The connection is unstable. Reconnecting…"),
    "ended": N_("The call has ended. Thank you."),
    "left": N_("You left the call."),
    "invalid_join_token": N_("This call link is not valid. Ask for a new one."),
    "call_expired": N_("This call link has expired. Ask for a new one."),
    "call_ended": N_("This call has already ended."),
    "call_full": N_("This call is full."),
    "camera_denied": N_(
        "The camera is blocked. Allow camera access for this site to show the item; "
        "you are in the call with sound only."
    ),
    "no_camera": N_("No camera was found on this device: you are in the call with sound only."),
    "no_media": N_("No camera or microphone could be used: you can see and hear the others only."),
    "unsupported": N_(
        "This browser cannot make video calls. Please open the link in Chrome, Safari or Firefox."
    ),
    "consent_question": N_(
        "May we record this call? The recording is kept as evidence for your return and "
        "seen only by the people handling it."
    ),
    "consent_granted": N_("Recording allowed."),
    "consent_declined": N_("Recording not allowed."),
    "consent_waiting": N_("The buyer has not answered about recording yet."),
    "recording": N_("This call is being recorded."),
    "recording_saved": N_("The recording was saved to the case."),
    "recording_failed": N_("The recording could not be saved."),
    "recording_not_consented": N_("The buyer has not allowed recording."),
    "still_saved": N_("Photo saved to the case."),
    "still_taken": N_("The agent took a photo of your camera view."),
    "still_failed": N_("The photo could not be taken."),
    "camera_switched": N_("The agent asked for your back camera."),
    "camera_unavailable": N_("That camera is not available on the buyer's device."),
    "torch_unsupported": N_("The buyer's device has no torch that can be switched on."),
    "torch_on": N_("Torch on."),
    "torch_off": N_("Torch off."),
    "quality_good": N_("Good connection"),
    "quality_fair": N_("Fair connection"),
    "quality_poor": N_("Poor connection"),
    "pointer_hint": N_("Click on the buyer's video to point at something."),
    "generic": N_("Something went wrong. Please try again."),
}
CALL_BUTTONS = {
    "join": N_("Join the call"),
    "hang_up": N_("Hang up"),
    "end_for_all": N_("End the call"),
    "consent_yes": N_("Yes, record"),
    "consent_no": N_("No"),
    "stop_recording_consent": N_("Stop recording"),
    "switch_camera": N_("Ask for the back camera"),
    "torch": N_("Torch"),
    "take_still": N_("Take a photo"),
    "record": N_("Record"),
    "stop_record": N_("Stop recording"),
    "share_screen": N_("Share my screen"),
    "share_video": N_("Show a video"),
    "stop_sharing": N_("Stop sharing"),
    "mute": N_("Mute"),
    "unmute": N_("Unmute"),
}
CALL_ROLES = {"agent": N_("Agent"), "buyer": N_("Buyer"), "guest": N_("Guest")}
CALL_STATUSES = {
    "waiting": N_("Waiting"),
    "active": N_("In progress"),
    "ended": N_("Ended"),
    "expired": N_("Expired"),
}

# What the evidence upload on a case page says as it goes.
UPLOAD_MESSAGES = {
    "uploading": N_("Uploading…"),
    "done": N_("Uploaded. It is now part of this case's evidence."),
    "quality_too_dark": N_(
        "Uploaded. The photo looks too dark: if you can, add another one taken with more light."
    ),
    "quality_too_bright": N_(
        "Uploaded. The photo looks overexposed: if you can, add another one with less light."
    ),
    "quality_blurred": N_(
        "Uploaded. The photo looks blurred: if you can, add another one, holding the phone still."
    ),
    "network": N_("The connection dropped. Press Upload again to continue where it stopped."),
    "generic": N_("The upload did not work. Please try again."),
    "empty_file": N_("The file is empty."),
    "file_too_large": N_("The file is too large for this kind of evidence."),
    "file_type_mismatch": N_("This file is not a photo, video or PDF of the kind you chose."),
    "invalid_image": N_("The photo cannot be read. Please take it again."),
    "image_too_large": N_("The photo is too large. Please send a smaller one."),
    "invalid_video": N_("The video cannot be played or is cut short. Please record it again."),
    "video_too_long": N_("The video is too long (at most 15 minutes)."),
    "invalid_document": N_("The document cannot be read (PDF files only)."),
    "case_closed": N_("This return is closed and takes no more evidence."),
    "unauthenticated": N_("Your session has ended. Please sign in again."),
}

# Decision outcomes as staff read them.
OUTCOMES = {
    "approve_return": N_("Approve the return"),
    "approve_returnless": N_("Refund, keep the item"),
    "offer_exchange": N_("Offer an exchange"),
    "request_evidence": N_("Ask for evidence"),
    "human_review": N_("A person decides"),
    "decline": N_("Decline"),
}

# Decision outcomes as buyers read them.
BUYER_OUTCOMES = {
    "approve_return": N_("Your return is approved. Please send the item back."),
    "approve_returnless": N_("You can keep the item: we will refund you without a return."),
    "offer_exchange": N_("We will exchange the item for you."),
    "request_evidence": N_("We need a little more information before we can decide."),
    "human_review": N_("Our team is reviewing your return."),
    "decline": N_("This return cannot be accepted."),
}

RESPONSIBILITY = {
    "seller": N_("Seller"),
    "carrier": N_("Carrier"),
    "buyer": N_("Buyer"),
    "fraud_suspected": N_("Suspected fraud"),
}

PAYERS = {
    "buyer": N_("the buyer"),
    "store": N_("the store"),
    "nobody": N_("nobody (no return needed)"),
}

EVIDENCE = {
    "photo": N_("A photo"),
    "unboxing_video": N_("An unboxing video"),
    "inspection_call": N_("A live video inspection call"),
}

FINDINGS = {
    "defect_confirmed": N_("Defect confirmed"),
    "wrong_item_confirmed": N_("Wrong item confirmed"),
    "transit_damage": N_("Damaged in transit"),
    "damage_by_buyer": N_("Damage caused by the buyer"),
    "misuse": N_("Misuse"),
    "item_swapped": N_("Item swapped"),
    "counterfeit_returned": N_("Counterfeit returned"),
    "major_failure": N_("Major failure (Australia)"),
}

DELIVERY_STATUS = {
    "pending": N_("Waiting to be sent"),
    "succeeded": N_("Delivered"),
    "dead": N_("Given up"),
}

# Buyer emails in the console.
EMAIL_STATUS = {
    "pending": N_("Waiting to be sent"),
    "sent": N_("Sent"),
    "dead": N_("Given up"),
}

EMAIL_KINDS = {
    "received": N_("Return received"),
    "withdrawal_ack": N_("Withdrawal acknowledgment"),
    "decision": N_("Decision"),
    "return_instructions": N_("How to send it back"),
    "item_received": N_("Item received"),
    "refund_issued": N_("Refund issued"),
    "exchange_hold": N_("Card hold for an exchange"),
    "exchange_ordered": N_("Replacement ordered"),
    "exchange_hold_released": N_("Card hold released"),
    "exchange_charged": N_("Card hold charged"),
    "video_call": N_("Agent waiting in a video call"),
    "call_offer": N_("Invitation to book a video call"),
    "call_booked": N_("Video call booked"),
    "call_reminder": N_("Reminder of the booked video call"),
    "call_cancelled": N_("Booked video call cancelled"),
    "return_reminder": N_("Reminder: the parcel is not sent yet"),
    "return_expired": N_("Not sent in time"),
    "staff_call_booked": N_("To the agent: video call booked"),
    "staff_call_reminder": N_("To the agent: reminder of the video call"),
    "staff_call_cancelled": N_("To the agent: video call cancelled"),
    "staff_sla_warning": N_("To staff: service level due soon"),
    "staff_sla_breached": N_("To supervisors: service level missed"),
}

REFUND_ITEMS = {
    "line": N_("Item"),
    "outbound_shipping": N_("Original shipping"),
    "restocking_fee": N_("Restocking fee"),
    "return_shipping": N_("Return shipping"),
}

ROLES = {
    "buyer": N_("Buyer"),
    "agent": N_("Agent"),
    "warehouse": N_("Warehouse"),
    "supervisor": N_("Supervisor"),
    "admin": N_("Admin"),
    "platform_admin": N_("Platform admin"),
    "integration": N_("Integration"),
    "system": N_("System"),
}

# Confirmations shown after a settings change.
MESSAGES = {
    "policy_saved": N_("The return policy was saved as a new version."),
    "policy_valid": N_("The policy is valid."),
    "decision_overridden": N_("The decision was overridden."),
    "staff_created": N_("The account was created."),
    "token_created": N_("The token was created: copy it now, it is not shown again."),
    "token_revoked": N_("The token was revoked."),
}

# Errors a person can meet on a page, by the domain's stable code.
ERRORS = {
    "invalid_slug": N_("The short name takes lowercase letters, digits and dashes."),
    "invalid_title": N_("Give the article a title (at most 200 characters)."),
    "invalid_body": N_("Write the article's text (at most 20,000 characters)."),
    "article_not_found": N_("That help article does not exist."),
    "invalid_message": N_("Write a message of at most 2,000 characters."),
    "conversation_full": N_("This conversation is full: please start a new one."),
    "conversation_changed": N_("The conversation changed at the same time: send it again."),
    "invalid_order_credentials": N_(
        "We could not find an order with that number and email. Check both and try again."
    ),
    "rate_limited": N_("Too many attempts. Please wait a minute and try again."),
    "quantity_exceeds_purchased": N_("You cannot return more items than you bought."),
    "window_ended": N_("The return period for this item has ended."),
    "non_returnable": N_("This kind of item cannot be returned."),
    "blocked": N_("Returns are not available for this order. Please contact the store."),
    "not_delivered": N_("This order has not been delivered yet."),
    "store_rule": N_("The store's return policy does not allow this return."),
    "no_decision": N_("This case has no decision to override."),
    "invalid_webhook_url": N_("That URL cannot receive webhooks: see the message below."),
    "invalid_events": N_("Choose event types from the list."),
    "webhook_not_found": N_("That endpoint does not exist."),
    "delivery_not_found": N_("That delivery does not exist."),
    "email_not_found": N_("That email does not exist."),
    "legal_hold": N_("The evidence is under a legal hold: release the hold first."),
    "invalid_sku": N_("Give the product's sku."),
    "reference_not_found": N_("That reference photo does not exist."),
    "file_type_mismatch": N_("This file is not a photo, video or PDF of the kind you chose."),
    "invalid_image": N_("The photo cannot be read. Please take it again."),
    "override_unchanged": N_("Choose a different outcome."),
    "final_sale": N_("This item is final sale: it can only be returned if it is faulty."),
    "empty_return": N_("Choose at least one item to return."),
    "note_required": N_("Please add a note explaining why."),
    "version_mismatch": N_(
        "Someone else changed this case. The page now shows the latest version."
    ),
    "invalid_transition": N_("That change is not possible from the current status."),
    "transition_not_permitted": N_("Your role cannot make that change."),
    "invalid_credentials": N_("Wrong email or password."),
    "refund_exceeds_paid": N_(
        "The refund cannot be more than what was paid for the returned items."
    ),
    "receipt_incomplete": N_("Not every item has arrived: record a partial receipt."),
    "receipt_complete": N_("Every item has arrived: mark the return as received."),
    "receipt_required": N_("List the items that arrived."),
    "resolution_mismatch": N_("The buyer asked for a different resolution."),
    "nothing_received": N_("Nothing has arrived yet."),
    "quantity_exceeds_returned": N_("More items received than are being returned."),
    "invalid_form": N_("Some fields are missing or not valid."),
    "unknown_code": N_("No return has that code."),
    "invalid_code": N_("That is not an RMA or tracking number."),
    "not_expecting_parcel": N_("This return is not expecting a parcel (already received?)."),
    "disposition_not_allowed": N_("A unit with that grade cannot be sold on."),
    "invalid_warehouse": N_("That is not a warehouse code."),
    "refund_held": N_("The refund is held while a person reviews this return."),
    "refund_not_allowed": N_("This return takes no refund now."),
    "reference_required": N_("Say what was paid (a transfer or platform reference)."),
    "currency_mismatch": N_("Refunds go back in the order's currency."),
    "provider_not_configured": N_("That payment provider is not set up."),
    "provider_mismatch": N_("The order was paid through another provider."),
    "no_payment_reference": N_("The order has no payment to refund against: record it by hand."),
    "refund_failed": N_("The refund did not go through: see the refund list and retry."),
    "store_credit_is_manual": N_("Store credit is issued in the store and recorded here by hand."),
    "idempotency_key_reused": N_("That request was already used for something else."),
    "no_label": N_("This return has no parcel to send."),
    "invalid_scopes": N_("Choose what the token may do."),
    "token_not_found": N_("That token does not exist."),
    "unknown_tracking_number": N_("No return has that tracking number."),
    "invalid_tracking_number": N_("That is not a tracking number (letters, digits, . _ / -)."),
    "invalid_carrier": N_("Name the carrier."),
    "not_awaiting_parcel": N_("This return is not waiting for a parcel."),
    "tracking_number_in_use": N_("That tracking number belongs to another return."),
    "forbidden": N_("Your role cannot do this."),
    "exchange_exists": N_("This return already has another exchange."),
    "exchange_held": N_("The exchange is held while a person reviews this return."),
    "exchange_not_allowed": N_(
        "An instant exchange ships before the parcel is scanned; otherwise the exchange waits "
        "until the return is inspected."
    ),
    "instant_exchange_not_offered": N_("The return policy does not offer instant exchanges."),
    "no_card_to_hold": N_("The order has no card payment to hold for an instant exchange."),
    "exchange_failed": N_("The exchange did not go through: see the exchange and retry."),
    "exchange_not_found": N_("This return has no exchange."),
    "exchange_not_exported": N_("This exchange is not waiting for an order made by hand."),
    "exchange_already_ordered": N_("The replacement order is already recorded."),
    "order_reference_required": N_("Name the replacement order."),
    "no_open_hold": N_("No money is held on the card for this exchange."),
    "exchange_under_way": N_(
        "This return is being exchanged: no refund while the replacement is under way."
    ),
    "exchange_in_progress": N_("This exchange is being made right now: look again in a moment."),
    "slot_unavailable": N_("That time was just taken: please pick another one."),
    "invalid_rule": N_("A rule needs a name and sends cases to a team or a skill."),
    "duplicate_rule": N_("Each rule needs its own name."),
    "too_many_rules": N_("A store has at most 50 routing rules."),
    "rule_not_found": N_("That rule does not exist any more."),
    "invalid_reason": N_("Pick reasons from the list."),
    "booking_not_offered": N_("Video calls can be booked once the store asks for one."),
    "no_agents": N_("Nobody can take a video call right now: the store will contact you."),
    "booking_not_found": N_("No video call is booked on this return."),
    "booking_exists": N_("A video call is already booked on this return."),
    "booking_not_active": N_("This video call is not booked any more."),
    "invalid_slot": N_("Pick one of the times shown."),
    "failed_check_resellable": N_("A unit that failed a check cannot be graded as new."),
    "too_many_checks": N_("Too many checks for one item."),
    "invalid_check": N_("A check is 1 to 100 characters."),
    "hold_failed": N_("The card hold was not settled: see the exchange and try again."),
    "unknown_line": N_("That item is not part of this return."),
    "invalid_quantity": N_("That quantity is not possible for this item."),
    "no_lines": N_("Choose at least one item."),
    "invalid_replacement_sku": N_("That is not a product code (letters, digits, . _ : / -)."),
    "email_taken": N_("That email address already has an account."),
    "weak_password": N_("The password needs at least 10 characters."),
    "invalid_email": N_("That is not a valid email address."),
    "invalid_policy": N_("The policy is not valid: see the message below."),
    "invalid_document": N_("The text is neither valid TOML nor valid JSON."),
    "invalid_role": N_("That role cannot be given here."),
    "unsupported_language": N_("That language is not supported."),
    "file_required": N_("Choose a CSV file to import."),
    "file_too_large": N_("The file is too large (at most 20 MB)."),
    "invalid_encoding": N_("The file is not UTF-8 text. Export it again as CSV (UTF-8)."),
    "missing_columns": N_(
        "The file needs the columns tracking_number, carrier, status and occurred_at."
    ),
    "invalid_csv": N_("The file is not a readable CSV file."),
    "invalid_row": N_("The status or the time of this row is not valid."),
    "too_many_rows": N_("Too many rows: import the rest in another file."),
    "missing_column": N_("This is not a Shopify order export: required columns are missing."),
    "invalid_timezone": N_("Choose a time zone such as Europe/Berlin."),
    "invalid_hours": N_("Working hours need days and times as HH:MM (dates as YYYY-MM-DD)."),
    "invalid_team": N_("Give the team a name and a two-letter holiday country."),
    "team_exists": N_("A team already has that name."),
    "team_not_found": N_("That team does not exist."),
    "invalid_market": N_("Markets are two-letter country codes (US, DE)."),
    "invalid_language": N_("Languages are codes such as en, de or pt-BR."),
    "invalid_capacity": N_("Capacity is 0 to 500 open cases."),
    "invalid_skill": N_("Choose skills from the list."),
    "staff_not_found": N_("No active staff account has that email."),
    "member_not_found": N_("That person is not in this team."),
    "invalid_time_off": N_(
        "Time off needs a start and a later end, not over yet, at most a year long."
    ),
    "time_off_not_found": N_("That time off was already removed."),
    "invalid_sla": N_("Targets are 1 to 129,600 working minutes."),
    "reason_required": N_("Say why you reassign the case."),
    "team_never_works": N_("That team has no working time in the coming year."),
    "invalid_group_by": N_("Choose what to group the returns by from the list."),
    "invalid_period": N_("Choose a period that runs forward, at most two years long."),
    "generic": N_("Something went wrong. Please try again."),
}

CONVERSATION_STATUS = {
    "open": N_("With the assistant"),
    "handed_off": N_("Waiting for a person"),
    "closed": N_("Closed"),
}

HANDOFF_REASONS = {
    "requested": N_("Asked for a person"),
    "not_understood": N_("Not understood"),
    "repeated_failure": N_("Repeated failure"),
    "upset": N_("Upset buyer"),
    "human_review": N_("Return needs a person"),
    "order_change": N_("Cancel or change an order"),
    "delivery_problem": N_("Delivered but not received"),
    "product_help": N_("Product help"),
}

INTENTS = {
    "track_order": N_("Where is my order"),
    "item_not_received": N_("Not received"),
    "cancel_order": N_("Cancel order"),
    "change_order": N_("Change order"),
    "change_address": N_("Change address"),
    "return_request": N_("Return"),
    "exchange_request": N_("Exchange"),
    "refund_request": N_("Refund"),
    "refund_status": N_("Where is my refund"),
    "return_policy": N_("Return policy"),
    "damaged_item": N_("Damaged or faulty"),
    "wrong_item": N_("Wrong item"),
    "product_usage_help": N_("How to use a product"),
    "product_info": N_("Product question"),
    "shipping_info": N_("Shipping question"),
    "payment_billing": N_("Payment or invoice"),
    "account_help": N_("Account"),
    "complaint": N_("Complaint"),
    "talk_to_human": N_("Wants a person"),
    "other": N_("Out of scope"),
}

CHAT_AUTHORS = {
    "buyer": N_("You"),
    "assistant": N_("Assistant"),
    "agent": N_("Our team"),
}
