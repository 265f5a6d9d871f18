"""One router per resource; web_ui.app includes them all."""
