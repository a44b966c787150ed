"""``python -m nblabel.demo prepare``: build the demo data and model once."""

from nblabel.demo.prepare import main

main()
