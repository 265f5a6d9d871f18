"""One router per resource; gaitrig.web_ui.app includes them all."""
